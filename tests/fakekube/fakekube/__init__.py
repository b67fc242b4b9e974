"""fakekube: a small, faithful fake Kubernetes API server for tests (Python stdlib only).

Modules:
  errors      Status objects and the ApiError exception
  resources   built-in resource table, CRD registration, discovery and OpenAPI documents
  selectors   label and field selectors
  patch       JSON merge patch, strategic merge patch, JSON patch, server-side apply
  objects     defaulting, validation, managed fields, timestamps
  store       objects, resourceVersion, LIST paging, WATCH event log, deletion and GC
  controllers workload status, Jobs, Pods, Services, PVCs, CRDs
  tables      meta.k8s.io Table and PartialObjectMetadata transforms
  faults      fault injection rules and the request log
  certs       CA / server / client certificates (openssl CLI) and the kubeconfig
  server      HTTPS server and request routing
"""

__version__ = "1.0"

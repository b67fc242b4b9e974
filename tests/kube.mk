# Tests of the Kubernetes client (core/kube/).

# The fake Kubernetes API server for tests (tests/fakekube/README.md) and the checks that
# prove it faithful: API semantics over raw HTTPS, and the real kubectl/helm binaries
# (skipped, exit 77, when tests/fakekube/get-tools.sh has not installed them).
TESTS += tests/fakekube/test_server.py tests/fakekube/test_real_clients.py

EXTRA_DIST += \
	tests/charts/original-manager/Chart.yaml \
	tests/charts/original-manager/values.yaml \
	tests/charts/original-manager/templates/configmap.yaml \
	tests/charts/original-manager/templates/deployment.yaml \
	tests/charts/plain/Chart.yaml \
	tests/charts/plain/templates/NOTES.txt \
	tests/charts/plain/templates/_helpers.tpl \
	tests/charts/plain/templates/config.yaml \
	tests/charts/plain/templates/extras.yaml \
	tests/charts/plain/templates/workloads.yaml \
	tests/charts/plain/values.yaml \
	tests/charts/with-crds/Chart.yaml \
	tests/charts/with-crds/crds/gadgets.yaml \
	tests/charts/with-crds/templates/gadget.yaml \
	tests/charts/with-crds/values.yaml \
	tests/charts/with-hooks/Chart.yaml \
	tests/charts/with-hooks/templates/configmap.yaml \
	tests/charts/with-hooks/templates/hooks.yaml \
	tests/charts/with-hooks/templates/tests/test-hook.yaml \
	tests/charts/with-hooks/values.yaml \
	tests/charts/with-subchart/Chart.yaml \
	tests/charts/with-subchart/charts/child/Chart.yaml \
	tests/charts/with-subchart/charts/child/templates/configmap.yaml \
	tests/charts/with-subchart/charts/child/values.yaml \
	tests/charts/with-subchart/templates/configmap.yaml \
	tests/charts/with-subchart/values.yaml \
	tests/fakekube/README.md \
	tests/fakekube/fakekube.py \
	tests/fakekube/fakekube/__init__.py \
	tests/fakekube/fakekube/certs.py \
	tests/fakekube/fakekube/control.py \
	tests/fakekube/fakekube/controllers.py \
	tests/fakekube/fakekube/errors.py \
	tests/fakekube/fakekube/faults.py \
	tests/fakekube/fakekube/gz.py \
	tests/fakekube/fakekube/negotiate.py \
	tests/fakekube/fakekube/objects.py \
	tests/fakekube/fakekube/ops.py \
	tests/fakekube/fakekube/patch.py \
	tests/fakekube/fakekube/protobuf.py \
	tests/fakekube/fakekube/proxy.py \
	tests/fakekube/fakekube/resources.py \
	tests/fakekube/fakekube/selectors.py \
	tests/fakekube/fakekube/server.py \
	tests/fakekube/fakekube/store.py \
	tests/fakekube/fakekube/tables.py \
	tests/fakekube/fakekube/yamlmini.py \
	tests/fakekube/fakekube_util.py \
	tests/fakekube/get-tools.sh \
	tests/fakekube/test_real_clients.py \
	tests/fakekube/test_server.py

# The chart whose render follows the cluster's version and API versions (import --update-values,
# tests/e2e/test_import_convert.py).
EXTRA_DIST += tests/charts/capabilities/Chart.yaml tests/charts/capabilities/values.yaml \
	tests/charts/capabilities/templates/capabilities.yaml \
	tests/charts/capabilities/templates/gadget.yaml tests/charts/capabilities/templates/pdb.yaml

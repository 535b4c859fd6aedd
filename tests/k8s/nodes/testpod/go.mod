module kong-cluster/tests/k8s/nodes/testpod

go 1.26.0

"""kube-sim: a Kubernetes API server simulator (Python 3 standard library only).

See docs/kube-sim.md. Modules, one job each:
  util        time formats, JSON helpers, uids
  errors      ApiError and upstream-shaped Status bodies
  resources   built-in resource types and the registry (CRDs add types at run time)
  selectors   label and field selectors
  jsonpath    the JSONPath subset used by printer columns
  schema      CRD structural schema: pruning, defaulting, validation
  patch       merge, JSON, strategic merge patches
  managed     managedFields bookkeeping and server-side apply
  kinds       per-kind defaulting and validation (registry strategies)
  protobuf    the protobuf bodies kubectl's typed `create` sends (a few core kinds)
  store       objects, the global resourceVersion, history, write semantics
  controllers GC, CRD establishing/cleanup, namespace cleanup, pod termination timers
  watch       watchers and the event fan-out
  table       meta.k8s.io/v1 Table output
  discovery   /version, legacy and aggregated discovery, OpenAPI v3
  faults      fault injection state
  control     the /_sim control API
  handler     the HTTP handler (routing, content negotiation, watch streaming)
  tlsgen      CA and serving certificate via the openssl CLI
  kubeconfig  writing and reading kubeconfig files
  ctl         `kube-sim ctl` subcommands (a client of the control API)
  main        command line entry point
"""

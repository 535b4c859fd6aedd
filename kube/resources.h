// Typed helpers over the REST client: the paths of the kinds the operator uses and the few
// fields it reads from them, so the controller never digs through raw JSON.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace kc::kube {

// The ClusterNode custom resource (manifests/crd/clusternodes.yaml).
inline constexpr const char* kClusterNodeGroup = "kongcluster.dev";
inline constexpr const char* kClusterNodeVersion = "v1alpha1";
inline constexpr const char* kClusterNodeKind = "ClusterNode";

// Collection paths; an empty namespace means every namespace (where the kind is namespaced).
std::string pods_path(const std::string& ns);
std::string pod_path(const std::string& ns, const std::string& name);
std::string nodes_path();
std::string node_path(const std::string& name);
std::string lease_path(const std::string& ns, const std::string& name);
std::string leases_path(const std::string& ns);
std::string events_path(const std::string& ns);
std::string clusternodes_path(const std::string& ns);
std::string clusternode_path(const std::string& ns, const std::string& name);
std::string daemonset_path(const std::string& ns, const std::string& name);

// "ns/name" (or "name" for cluster-scoped objects): the cache key, as client-go's.
std::string object_key(const nlohmann::json& obj);
std::string resource_version(const nlohmann::json& obj);

// metadata.ownerReferences entry with controller=true: the workload that manages the pod.
struct ControllerRef {
  std::string api_version, kind, name, uid;
};

struct PodView {
  std::string ns, name, uid, node, phase, ip, host_ip;
  std::string service_account;         // spec.serviceAccountName
  std::optional<ControllerRef> owner;  // the controller owner reference, if any
  bool ready = false;                  // condition Ready=True
  bool deleting = false;               // metadata.deletionTimestamp set
  std::optional<int> rpc_port;         // a container port named "rpc"
  std::optional<int> http_port;        // a container port named "http" (the agent's HTTP API)
  // The gossip port: a container port named "gossip", "gossip-tcp", "gossip-udp" or "serflan".
  std::optional<int> gossip_port;
};
PodView pod_view(const nlohmann::json& pod);

struct NodeView {
  std::string name;
  bool ready = true;  // condition Ready=True (a node without conditions counts as Ready)
  std::map<std::string, std::string> labels;
  std::string internal_ip, external_ip;
};
NodeView node_view(const nlohmann::json& node);

// RFC 3339 with second precision ("2026-11-25T10:27:07Z"), as metav1.Time.
std::string format_time(std::chrono::system_clock::time_point t);
// MicroTime ("2026-11-25T10:27:07.123456Z"), as Lease renewTime.
std::string format_micro_time(std::chrono::system_clock::time_point t);

// A core/v1 Event about an object (`involved` has kind/name/namespace/uid/apiVersion), from
// `component`, as `kubectl describe` shows it.
nlohmann::json make_event(const nlohmann::json& involved, const std::string& type,
                          const std::string& reason, const std::string& message,
                          const std::string& component, const std::string& host);

}  // namespace kc::kube

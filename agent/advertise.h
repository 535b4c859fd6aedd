// Choosing the address other members should use to reach us.
#pragma once

#include <map>
#include <string>

#include "agent/agent_config.h"
#include "agent/gossip/types.h"
#include "kube/node_topology.h"

namespace kc::agent {

// cluster_advertise when set; otherwise, by cluster_advertise_mode: pod → $POD_IP,
// host → $HOST_IP, node-internal / node-external → the Node's InternalIP / ExternalIP (`node`,
// read at start-up; an error naming the Node when it has no such address: another address
// would not be reachable from where the mode was chosen for), auto → the bind IP when it is
// specific (loopback included), else $POD_IP, else the first private non-loopback IPv4 of the
// host (a public one with a warning), else an error: never 127/8 unless bound there (Kong
// 0.10.0's bug). The port is the advertise port, or the port actually bound.
gossip::Address choose_advertise(const AgentConfig& c, const gossip::Address& bound,
                                 const kube::NodeTopology* node = nullptr);

// Tags from the downward API: pod, namespace, uid, node (from POD_NAME, POD_NAMESPACE,
// POD_UID, NODE_NAME when set).
std::map<std::string, std::string> kubernetes_tags();

// The member's tags: kubernetes_tags(), then `dc` and `zone` from the Node's labels (when it
// has them) and `k8s-cluster` (when `cluster_id` is not empty), then cluster_tags, which win
// over all of them.
std::map<std::string, std::string> member_tags(const AgentConfig& c, const kube::NodeTopology* node,
                                               const std::string& cluster_id = "");

}  // namespace kc::agent

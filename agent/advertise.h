// Choosing the address other members should use to reach us.
#pragma once

#include <map>
#include <string>

#include "agent/agent_config.h"
#include "agent/gossip/types.h"

namespace kc::agent {

// cluster_advertise when set; otherwise, by cluster_advertise_mode: pod → $POD_IP,
// host → $HOST_IP, auto → the bind IP when it is specific (loopback included), else $POD_IP,
// else the first private non-loopback IPv4 of the host (a public one with a warning), else
// an error: never 127/8 unless bound there (Kong 0.10.0's bug). The port is the advertise port, or
// the port actually bound. (node-internal / node-external need the Kubernetes Node and
// arrive with the kube client.)
gossip::Address choose_advertise(const AgentConfig& c, const gossip::Address& bound);

// Tags from the downward API: pod, namespace, uid, node (from POD_NAME, POD_NAMESPACE,
// POD_UID, NODE_NAME when set). Configured tags win over these.
std::map<std::string, std::string> kubernetes_tags();

}  // namespace kc::agent

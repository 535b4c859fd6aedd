// Choosing the address other members should use to reach us.
#pragma once

#include <string>

#include "agent/agent_config.h"
#include "agent/gossip/types.h"

namespace kc::agent {

// cluster_advertise when set; otherwise, by cluster_advertise_mode: pod → $POD_IP,
// host → $HOST_IP, auto → $POD_IP, else the bind IP when it is specific, else the first
// non-loopback IPv4 interface address, else 127.0.0.1. The port is the advertise port, or
// the port actually bound. (node-internal / node-external need the Kubernetes Node and
// arrive with the kube client.)
gossip::Address choose_advertise(const AgentConfig& c, const gossip::Address& bound);

}  // namespace kc::agent

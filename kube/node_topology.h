// What an agent needs from its own Node : `dc` and `zone` from topology labels (keys
// configurable) and, for the advertise modes node-internal / node-external, the Node's
// InternalIP / ExternalIP, for clusters spanning datacenters where pod IPs do not route.
// Needs only `get` on nodes. The agent reads its Node with this once at start-up
// (agent/node_lookup) and applies it in agent/advertise.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace kc::kube {

struct TopologyKeys {
  std::string dc = "topology.kubernetes.io/region";
  std::string zone = "topology.kubernetes.io/zone";
};

struct NodeTopology {
  std::string name;
  std::string dc, zone;
  std::string internal_ip, external_ip;
};

NodeTopology topology_of(const nlohmann::json& node, const TopologyKeys& keys = {});

// The address to advertise for `mode` ("node-internal" or "node-external"); nullopt when the
// Node has no such address (the caller reports it: falling back silently would advertise an
// address other datacenters cannot reach).
std::optional<std::string> node_advertise_ip(const NodeTopology& t, const std::string& mode);

}  // namespace kc::kube

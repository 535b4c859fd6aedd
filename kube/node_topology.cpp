#include "kube/node_topology.h"

#include "kube/resources.h"

namespace kc::kube {

NodeTopology topology_of(const nlohmann::json& node, const TopologyKeys& keys) {
  auto v = node_view(node);
  NodeTopology t;
  t.name = v.name;
  if (auto it = v.labels.find(keys.dc); it != v.labels.end()) t.dc = it->second;
  if (auto it = v.labels.find(keys.zone); it != v.labels.end()) t.zone = it->second;
  t.internal_ip = v.internal_ip;
  t.external_ip = v.external_ip;
  return t;
}

std::optional<std::string> node_advertise_ip(const NodeTopology& t, const std::string& mode) {
  const std::string& ip = mode == "node-external"   ? t.external_ip
                          : mode == "node-internal" ? t.internal_ip
                                                    : std::string();
  if (ip.empty()) return std::nullopt;
  return ip;
}

}  // namespace kc::kube

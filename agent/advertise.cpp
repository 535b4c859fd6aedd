#include "agent/advertise.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "common/logging.h"
#include "kube/cluster_id.h"

namespace kc::agent {

namespace {

// RFC 1918 and RFC 6598 (carrier-grade NAT, used by some pod networks).
bool is_private(uint32_t ip) {
  return (ip >> 24) == 10 || (ip >> 20) == (172u << 4 | 1) || (ip >> 16) == (192u << 8 | 168) ||
         (ip >> 22) == ((100u << 2) | 1);
}

// The first private non-loopback IPv4 of the host; else the first other non-loopback one
// (Serf refused public addresses, which broke Kong on hosts with only a public one: we take it
// and say so).
std::string first_interface_ipv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::string private_ip;
  std::string other_ip;
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    uint32_t ip = ntohl(sin->sin_addr.s_addr);
    if ((ip >> 24) == 127 || (ip >> 16) == (169u << 8 | 254)) continue;  // loopback, link-local
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    if (is_private(ip) && private_ip.empty()) private_ip = buf;
    if (!is_private(ip) && other_ip.empty()) other_ip = buf;
  }
  freeifaddrs(list);
  if (private_ip.empty() && !other_ip.empty())
    kc::log::get("agent")->warn("no private IPv4 address found; advertising public {}", other_ip);
  return private_ip.empty() ? other_ip : private_ip;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool unspecified(const gossip::Address& a) {
  return std::ranges::all_of(a.ip, [](auto b) { return b == 0; });
}

}  // namespace

gossip::Address choose_advertise(const AgentConfig& c, const gossip::Address& bound,
                                 const kube::NodeTopology* node) {
  if (!c.advertise.empty()) {
    auto a = gossip::Address::parse(c.advertise);
    if (a.port == 0) a.port = bound.port;
    return a;
  }
  std::string ip;
  if (c.advertise_mode == "pod") {
    ip = env("POD_IP");
    if (ip.empty())
      throw std::runtime_error("cluster_advertise_mode=pod needs $POD_IP (downward API)");
  } else if (c.advertise_mode == "host") {
    ip = env("HOST_IP");
    if (ip.empty())
      throw std::runtime_error("cluster_advertise_mode=host needs $HOST_IP (downward API)");
  } else if (c.advertise_mode == "node-internal" || c.advertise_mode == "node-external") {
    if (!node)
      throw std::runtime_error("cluster_advertise_mode=" + c.advertise_mode +
                               " needs this agent's Node ($NODE_NAME and Kubernetes access)");
    auto node_ip = kube::node_advertise_ip(*node, c.advertise_mode);
    if (!node_ip)
      throw std::runtime_error("cluster_advertise_mode=" + c.advertise_mode + ": Node \"" +
                               node->name + "\" has no " +
                               (c.advertise_mode == "node-external" ? "ExternalIP" : "InternalIP") +
                               " address; set cluster_advertise or use another mode");
    ip = *node_ip;
  } else {
    // Bound to a specific address (loopback included): that is the one to advertise.
    if (!unspecified(bound)) ip = bound.ip_string();
    if (ip.empty()) ip = env("POD_IP");
    if (ip.empty()) ip = first_interface_ipv4();
    if (ip.empty())
      throw std::runtime_error(
          "no IPv4 address to advertise (only loopback found); set cluster_advertise");
  }
  bool v6 = ip.find(':') != std::string::npos;
  return gossip::Address::parse((v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(bound.port));
}

std::map<std::string, std::string> kubernetes_tags() {
  std::map<std::string, std::string> tags;
  for (auto [var, tag] : {std::pair{"POD_NAME", "pod"},
                          {"POD_NAMESPACE", "namespace"},
                          {"POD_UID", "uid"},
                          {"NODE_NAME", "node"}}) {
    if (auto v = env(var); !v.empty()) tags[tag] = v;
  }
  return tags;
}

std::map<std::string, std::string> member_tags(const AgentConfig& c, const kube::NodeTopology* node,
                                               const std::string& cluster_id) {
  auto tags = kubernetes_tags();
  if (node && !node->dc.empty()) tags["dc"] = node->dc;
  if (node && !node->zone.empty()) tags["zone"] = node->zone;
  if (!cluster_id.empty()) tags[kube::kClusterIdTag] = cluster_id;
  for (auto& [k, v] : c.tags) tags[k] = v;
  return tags;
}

}  // namespace kc::agent

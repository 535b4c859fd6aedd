#include "operator/controller/trust.h"

namespace kc::controller {

namespace {
std::string tag(const Member& m, const char* key) {
  auto it = m.tags.find(key);
  return it == m.tags.end() ? "" : it->second;
}

// "ip:port" or "[ip6]:port" as the RPC client formats member addresses.
bool split_address(const std::string& address, std::string& ip, int& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 >= address.size()) return false;
  ip = address.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  port = 0;
  for (size_t i = colon + 1; i < address.size(); ++i) {
    char c = address[i];
    if (c < '0' || c > '9' || port > 65535) return false;
    port = port * 10 + (c - '0');
  }
  return !ip.empty() && port <= 65535;
}
}  // namespace

bool verified_agent(const kube::PodView& pod, const AgentIdentity& id) {
  if (id.trust_selector) return true;
  if (id.daemonset.empty() || id.daemonset_uid.empty() || !pod.owner) return false;
  const auto& o = *pod.owner;
  if (o.kind != "DaemonSet" || o.api_version != "apps/v1") return false;
  if (o.name != id.daemonset || o.uid != id.daemonset_uid || pod.ns != id.ns) return false;
  return id.service_account.empty() || pod.service_account == id.service_account;
}

bool member_at_pod(const Member& m, const kube::PodView& pod) {
  std::string ip;
  int port = 0;
  if (!split_address(m.address, ip, port)) return false;
  if (ip != pod.ip && ip != pod.host_ip) return false;
  return !pod.gossip_port || *pod.gossip_port == port;
}

bool address_protected(const Member& m, const std::vector<kube::PodView>& live_agents,
                       const std::map<std::string, Member>& members) {
  for (const auto& pod : live_agents) {
    if (!member_at_pod(m, pod)) continue;
    bool taken_over = false;
    for (const auto& [name, other] : members)
      if (name != m.name && other.status == "alive" && member_at_pod(other, pod) &&
          other.address == m.address)
        taken_over = true;
    if (!taken_over) return true;
  }
  return false;
}

bool reports_agree(const Member& a, const Member& b) {
  for (const char* key : {"uid", "pod", "namespace"})
    if (tag(a, key) != tag(b, key)) return false;
  return a.address == b.address;
}

}  // namespace kc::controller

#include "agent/advertise.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstdlib>
#include <stdexcept>

namespace kc::agent {

namespace {

std::string first_interface_ipv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::string found;
  for (auto* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    found = buf;
  }
  freeifaddrs(list);
  return found;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool unspecified(const gossip::Address& a) {
  for (auto b : a.ip)
    if (b) return false;
  return true;
}

}  // namespace

gossip::Address choose_advertise(const AgentConfig& c, const gossip::Address& bound) {
  if (!c.advertise.empty()) {
    auto a = gossip::Address::parse(c.advertise);
    if (a.port == 0) a.port = bound.port;
    return a;
  }
  std::string ip;
  if (c.advertise_mode == "pod") {
    ip = env("POD_IP");
    if (ip.empty()) throw std::runtime_error("cluster_advertise_mode=pod needs $POD_IP (downward API)");
  } else if (c.advertise_mode == "host") {
    ip = env("HOST_IP");
    if (ip.empty()) throw std::runtime_error("cluster_advertise_mode=host needs $HOST_IP (downward API)");
  } else if (c.advertise_mode == "node-internal" || c.advertise_mode == "node-external") {
    throw std::runtime_error("cluster_advertise_mode=" + c.advertise_mode +
                             " needs the Kubernetes Node lookup, which this build does not have yet; "
                             "set cluster_advertise instead");
  } else {
    ip = env("POD_IP");
    if (ip.empty() && !unspecified(bound)) ip = bound.ip_string();
    if (ip.empty()) ip = first_interface_ipv4();
    if (ip.empty()) ip = "127.0.0.1";
  }
  bool v6 = ip.find(':') != std::string::npos;
  return gossip::Address::parse((v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(bound.port));
}

}  // namespace kc::agent

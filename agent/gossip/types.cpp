#include "agent/gossip/types.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "common/enum_names.h"

namespace kc::gossip {

const char* to_string(NodeState s) {
  static constexpr std::array<const char*, 4> kNames{"alive", "suspect", "dead", "left"};
  static_assert(names_every_value(kNames, NodeState::Left));
  return enum_name(s, kNames);
}

Address Address::unmapped() const {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip.size() != 16 || !std::equal(ip.begin(), ip.begin() + 12, kMappedPrefix)) return *this;
  return Address{Bytes(ip.begin() + 12, ip.end()), port};
}

Address Address::parse(const std::string& host_port) {
  std::string host;
  std::string port;
  if (!host_port.empty() && host_port[0] == '[') {
    auto close = host_port.find(']');
    if (close == std::string::npos) throw std::invalid_argument("bad address: " + host_port);
    host = host_port.substr(1, close - 1);
    if (close + 1 < host_port.size() && host_port[close + 1] == ':')
      port = host_port.substr(close + 2);
  } else {
    auto colon = host_port.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("missing port in " + host_port);
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  Address a;
  uint8_t buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
    a.ip.assign(buf, buf + 4);
  } else if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    a.ip.assign(buf, buf + 16);
  } else {
    throw std::invalid_argument("not an IP address: " + host);
  }
  try {
    size_t used = 0;
    int p = std::stoi(port, &used);
    if (used != port.size() || p < 0 || p > 65535) throw std::out_of_range("port");
    a.port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    throw std::invalid_argument("bad port in " + host_port);
  }
  return a;
}

std::string Address::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ip.size() == 4) {
    inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
  } else if (ip.size() == 16) {
    inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  } else {
    return "<invalid>";
  }
  return buf;
}

std::string Address::to_string() const {
  if (ip.size() == 16) return "[" + ip_string() + "]:" + std::to_string(port);
  return ip_string() + ":" + std::to_string(port);
}

}  // namespace kc::gossip

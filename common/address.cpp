#include "common/address.h"

#include <algorithm>
#include <boost/asio/ip/address_v6.hpp>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace kc {

std::string format_addr(const std::vector<uint8_t>& ip, uint16_t port) {
  std::string host;
  bool v4_mapped = ip.size() == 16 &&
                   std::all_of(ip.begin(), ip.begin() + 10, [](uint8_t b) { return b == 0; }) &&
                   ip[10] == 0xff && ip[11] == 0xff;
  if (ip.size() == 4 || v4_mapped) {
    const uint8_t* p = ip.data() + (ip.size() - 4);
    host = std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p[2]) + "." +
           std::to_string(p[3]);
  } else if (ip.size() == 16) {
    boost::asio::ip::address_v6::bytes_type b;
    std::copy(ip.begin(), ip.end(), b.begin());
    host = "[" + boost::asio::ip::address_v6(b).to_string() + "]";
  } else if (!ip.empty()) {
    // Not an IP: Go prints "?" followed by the hex bytes.
    host = "?";
    char hex[3];
    for (uint8_t c : ip) {
      std::snprintf(hex, sizeof hex, "%02x", c);
      host += hex;
    }
  }
  return host + ":" + std::to_string(port);
}

std::pair<std::string, uint16_t> split_host_port(const std::string& addr) {
  std::string host;
  std::string port;
  if (!addr.empty() && addr.front() == '[') {
    auto close = addr.find(']');
    if (close == std::string::npos || close + 1 >= addr.size() || addr[close + 1] != ':')
      throw std::invalid_argument("invalid address '" + addr + "': expected [IPv6]:port");
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    auto colon = addr.rfind(':');
    if (colon == std::string::npos || addr.find(':') != colon)
      throw std::invalid_argument("invalid address '" + addr + "': expected host:port");
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    throw std::invalid_argument("invalid port in address '" + addr + "'");
  if (host.empty()) host = "0.0.0.0";  // ":7373", as Go's net.Listen reads it
  return {host, static_cast<uint16_t>(value)};
}

}  // namespace kc

#include "agent/http/validate.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

namespace kc::agent_http {

namespace {

bool dns_name(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  size_t label = 0;
  for (char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
    if (c == '-' && label == 1) return false;
  }
  return true;
}

bool ip_literal(const std::string& h, bool v6_only) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(h, ec);
  return !ec && (!v6_only || a.is_v6());
}

std::string check_port(const std::string& p) {
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return "'" + p + "' is not a port number";
  auto n = std::stoul(p);
  if (n == 0 || n > 65535) return "port " + p + " is out of range 1-65535";
  return "";
}

}  // namespace

std::string check_join_address(const std::string& a) {
  if (a.empty()) return "the address is empty";
  if (a.size() > 300) return "the address is too long";
  std::string host;
  std::string port;
  if (a[0] == '[') {
    auto close = a.find(']');
    if (close == std::string::npos) return "'[' without ']'";
    host = a.substr(1, close - 1);
    if (close + 1 < a.size()) {
      if (a[close + 1] != ':') return "expected ':port' after ']'";
      port = a.substr(close + 2);
      if (auto err = check_port(port); !err.empty()) return err;
    }
    if (!ip_literal(host, true)) return "'" + host + "' is not an IPv6 address";
    return "";
  }
  if (std::count(a.begin(), a.end(), ':') > 1) {  // a bare IPv6 literal
    return ip_literal(a, true) ? "" : "'" + a + "' is not host:port";
  }
  auto colon = a.find(':');
  host = a.substr(0, colon);
  if (colon != std::string::npos)
    if (auto err = check_port(a.substr(colon + 1)); !err.empty()) return err;
  if (!ip_literal(host, false) && !dns_name(host))
    return "'" + host + "' is neither an IP address nor a host name";
  return "";
}

std::string check_node_name(const std::string& n) {
  if (n.empty()) return "the name is empty";
  if (n.size() > 256) return "the name is longer than 256 bytes";
  for (unsigned char c : n)
    if (c < 0x20 || c == 0x7f) return "the name contains control characters";
  if (n.front() == ' ' || n.back() == ' ') return "the name starts or ends with a space";
  return "";
}

}  // namespace kc::agent_http

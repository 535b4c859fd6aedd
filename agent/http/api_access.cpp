#include "agent/http/api_access.h"

#include <boost/asio/ip/address.hpp>

#include "common/http/server.h"
#include "common/token_compare.h"

namespace kc::agent_http {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool host_is_literal_or_localhost(const std::string& host_header) {
  std::string host = lower(host_header);
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string::npos) return false;
    auto rest = host.substr(close + 1);
    if (!rest.empty() &&
        (rest[0] != ':' || rest.find_first_not_of("0123456789", 1) != std::string::npos))
      return false;
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(host.substr(1, close - 1), ec);
    return !ec;
  }
  auto colon = host.find(':');
  if (colon != std::string::npos) {
    if (host.find_first_not_of("0123456789", colon + 1) != std::string::npos) return false;
    host = host.substr(0, colon);
  }
  if (host == "localhost") return true;
  boost::system::error_code ec;
  boost::asio::ip::make_address_v4(host, ec);
  return !ec;
}

bool is_loopback_listener(const std::string& addr) {
  try {
    return http::parse_endpoint(addr).address().is_loopback();
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::optional<http::Response> check_api_access(const http::Request& req, const ApiAccess& access) {
  auto fetch_site = lower(req.header("sec-fetch-site"));
  if (req.headers.contains("origin") || (!fetch_site.empty() && fetch_site != "none"))
    return http::message_response(403, "Cross-origin requests are not accepted");
  if (!access.token.empty()) {
    static const std::string kBearer = "bearer ";
    auto auth = req.header("authorization");
    bool ok = auth.size() > kBearer.size() && lower(auth.substr(0, kBearer.size())) == kBearer &&
              kc::same_token(auth.substr(kBearer.size()), access.token);
    if (ok) return std::nullopt;
    auto r = http::message_response(401, "Unauthorized");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"kong-cluster\"");
    return r;
  }
  if (!access.serve_without_token)
    return http::message_response(
        403,
        "The cluster API needs a token here: set cluster_rpc_auth, or listen on a loopback "
        "address");
  if (!host_is_literal_or_localhost(req.header("host")))
    return http::message_response(403, "Host not accepted");
  return std::nullopt;
}

}  // namespace kc::agent_http

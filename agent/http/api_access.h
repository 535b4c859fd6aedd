// Who may use the HTTP API's membership routes (list members with their tags, join,
// force-leave): the same credential as RPC, and never a browser page.
//
//   - With a token (cluster_rpc_auth): `Authorization: Bearer <token>`, else 401.
//   - Without a token: served only where the user said so (the API listener is on a
//     loopback address, or cluster_http_unauthenticated = on), else 403; then the Host
//     header must be an IP literal or `localhost`, so a DNS-rebinding page cannot reach it.
//   - Any request that carries `Origin`, or `Sec-Fetch-Site` other than `none`, is a
//     browser acting for some page: 403, and no CORS headers are ever sent.
// Probes (/healthz, /readyz) and /metrics are not behind this.
#pragma once

#include <optional>
#include <string>

#include "common/http/message.h"

namespace kc::agent_http {

struct ApiAccess {
  std::string token;                 // "" = no token configured
  bool serve_without_token = false;  // without a token: serve (loopback, or the user said so)
};

// nullopt when the request may proceed, else the response that refuses it.
std::optional<http::Response> check_api_access(const http::Request& req, const ApiAccess& access);

// Whether `host` (a Host header: name or IP, optional port) names this machine by an IP
// literal or `localhost`.
bool host_is_literal_or_localhost(const std::string& host);

// The listener address (IP:port or [v6]:port) is a loopback address.
bool is_loopback_listener(const std::string& addr);

}  // namespace kc::agent_http

// Kong 0.x's Admin API cluster endpoints, served by the agent with Kong's JSON shapes, codes
// and messages (kong/api/routes/cluster.lua, kong/api/init.lua):
//   GET    /cluster[?status=S]  {"data":[{"name","address","status"}],"total":N}
//   POST   /cluster  address    join; 200 with an empty body, 400 {"message":...}
//   DELETE /cluster  name       force-leave; 200 with an empty body, 400 {"message":...}
// plus our own: DELETE /cluster/nodes/:name (force-leave, ?prune=true), GET /v1/members
// (alias /cluster/members) with tags, status, incarnation and protocol versions, /healthz
// and /readyz. Everything goes through rpc::AgentApi, the interface the RPC server uses.
// Every route that lists or changes membership is behind check_api_access (api_access.h):
// the RPC token as a bearer token, no browser requests. A failed join says only that no node
// could be contacted (details go to the agent's log), so the API is no port scanner.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/http/api_access.h"
#include "agent/rpc/agent_api.h"
#include "common/http/router.h"

namespace kc::agent_http {

struct ClusterRoutesOptions {
  // Readiness for /readyz: true, or false with a reason.
  std::function<bool(std::string& reason)> ready = [](std::string&) { return true; };
  // Memberlist incarnation of a member, when known.
  std::function<std::optional<uint32_t>(const std::string& name)> incarnation;
  // Who may use the membership routes.
  ApiAccess access;
};

// The membership routes plus the probes.
void add_cluster_routes(http::Router& router, rpc::AgentApi& api, ClusterRoutesOptions options);
// Only /healthz and /readyz (open to all), for the probe listener.
void add_probe_routes(http::Router& router, std::function<bool(std::string& reason)> ready);

// "ip:port" ("[v6]:port") of a member as serf's `members` prints it.
std::string member_address(const rpc::MemberInfo& m);

}  // namespace kc::agent_http

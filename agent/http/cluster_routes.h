// Kong 0.x's Admin API cluster endpoints, served by the agent with Kong's JSON shapes, codes
// and messages (kong/api/routes/cluster.lua, kong/api/init.lua):
//   GET    /cluster[?status=S]  {"data":[{"name","address","status"}],"total":N}
//   POST   /cluster  address    join; 200 with an empty body, 400 {"message":...}
//   DELETE /cluster  name       force-leave; 200 with an empty body, 400 {"message":...}
// plus our own: DELETE /cluster/nodes/:name (force-leave, ?prune=true), GET /v1/members
// (alias /cluster/members) with tags, status, incarnation and protocol versions, /healthz
// and /readyz. Everything goes through rpc::AgentApi, the interface the RPC server uses.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/rpc/agent_api.h"
#include "common/http/router.h"

namespace kc::agent_http {

struct ClusterRoutesOptions {
  // Readiness for /readyz: true, or false with a reason.
  std::function<bool(std::string& reason)> ready = [](std::string&) { return true; };
  // Memberlist incarnation of a member, when known.
  std::function<std::optional<uint32_t>(const std::string& name)> incarnation;
};

void add_cluster_routes(http::Router& router, rpc::AgentApi& api, ClusterRoutesOptions options);

// "ip:port" ("[v6]:port") of a member as serf's `members` prints it.
std::string member_address(const rpc::MemberInfo& m);

}  // namespace kc::agent_http

// Members' incarnation numbers, for ClusterNode status: Serf's RPC `members` reply does not
// carry them, so they come from the agent's HTTP API (GET /v1/members, docs/http-api.md),
// asked of the agent pod whose container port is named "http". Best effort: a pod without
// that port, or an answer that does not come, leaves the incarnation out of the status.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace kc::controller {

// name -> incarnation from a /v1/members body; members without one are left out; nullopt when
// the body is not such a reply.
std::optional<std::map<std::string, uint64_t>> parse_incarnations(const std::string& body);

// GET http://`addr`/v1/members (`addr` is "ip:port") with `token` (the agents' RPC token,
// their HTTP API's credential) as a bearer token when not empty; `done` runs on `io` with
// the result, or nullopt and a log line at debug level.
void fetch_incarnations(boost::asio::io_context& io, const std::string& addr,
                        const std::string& token,
                        std::function<void(std::optional<std::map<std::string, uint64_t>>)> done);

}  // namespace kc::controller

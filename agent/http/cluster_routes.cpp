#include "agent/http/cluster_routes.h"

#include <memory>
#include <nlohmann/json.hpp>

#include "agent/gossip/types.h"
#include "agent/http/validate.h"
#include "common/log_limit.h"
#include "common/logging.h"

namespace kc::agent_http {

using http::Reply;
using http::Request;
using json = nlohmann::json;

namespace {

// Kong's self.params: the query string, overridden by the body. Returns the error reply
// Kong's before_filter/parse_params gave, if any.
std::optional<http::Response> kong_params(const Request& req, http::Params& out) {
  out = req.query;
  bool needs_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  auto body = http::parse_body_params(req);
  using S = http::BodyParams::Status;
  switch (body.status) {
    case S::NoBody:
      break;
    case S::BadJson:
      if (needs_body) return http::message_response(400, "Cannot parse JSON body");
      break;
    case S::BadForm:
      return http::message_response(400, "Cannot parse form body");
    case S::Unsupported:
      // Kong: 415 with an empty body for a body it cannot read (or one without a type).
      if (needs_body) return http::empty_response(415);
      break;
    case S::Ok:
      for (auto& [k, v] : body.params) out[k] = v;
      break;
  }
  return std::nullopt;
}

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

bool truthy(const std::string& v) {
  return v == "true" || v == "1" || v == "yes" || v == "on";
}

void force_leave(rpc::AgentApi& api, const std::string& name, bool prune, const Reply& reply) {
  if (auto err = check_node_name(name); !err.empty())
    return reply(http::message_response(400, "Invalid node \"name\": " + err));
  kc::log::get("http")->info("force-leave {}{} requested over HTTP", name, prune ? " (prune)" : "");
  api.force_leave(name, prune, [reply](const rpc::Error& err) {
    if (!err.empty())
      return reply(http::message_response(400, "Error force leaving: " + one_line(err)));
    reply(http::empty_response(200));
  });
}

// The handler, behind the API's credential and origin checks.
http::Handler guarded(const std::shared_ptr<const ClusterRoutesOptions>& opts,
                      std::function<void(Request&, const Reply&)> handler) {
  return [opts, handler = std::move(handler)](Request& req, const Reply& reply) {
    if (auto refused = check_api_access(req, opts->access)) {
      static kc::log::RateLimit limit;
      kc::log::limited(limit, *kc::log::get("http"), spdlog::level::warn,
                       "refused {} {} from {}: {}", req.method, req.route, req.remote,
                       refused->status);
      return reply(std::move(*refused));
    }
    handler(req, reply);
  };
}

json protocol(uint8_t min, uint8_t max, uint8_t cur) {
  return json{{"min", min}, {"max", max}, {"version", cur}};
}

}  // namespace

std::string member_address(const rpc::MemberInfo& m) {
  return gossip::Address{m.addr, m.port}.to_string();
}

void add_cluster_routes(http::Router& router, rpc::AgentApi& api, ClusterRoutesOptions options) {
  auto opts = std::make_shared<const ClusterRoutesOptions>(std::move(options));

  router.add(
      "GET", "/cluster", guarded(opts, [&api](Request& req, const Reply& reply) {
        auto status = req.query.find("status");
        json data = json::array();
        for (auto& m : api.members()) {
          if (status != req.query.end() && m.status != status->second) continue;
          data.push_back({{"name", m.name}, {"address", member_address(m)}, {"status", m.status}});
        }
        json body;
        body["data"] = data;
        body["total"] = data.size();
        reply(http::json_response(200, body));
      }));

  router.add(
      "POST", "/cluster", guarded(opts, [&api](Request& req, const Reply& reply) {
        http::Params params;
        if (auto err = kong_params(req, params)) return reply(*err);
        auto it = params.find("address");
        if (it == params.end())
          return reply(http::message_response(400, "Missing node \"address\""));
        auto address = it->second;
        if (auto err = check_join_address(address); !err.empty())
          return reply(http::message_response(400, "Invalid node \"address\": " + err));
        kc::log::get("http")->info("join {} requested over HTTP", address);
        // serf join without -replay: old user events are not replayed.
        api.join({address}, /*replay=*/false, [reply, address](int joined, const rpc::Error& err) {
          if (!err.empty() || joined == 0) {
            // What answered (refused, timed out, not a member) stays in our log: the reply must
            // not tell a caller what listens at an address of its choosing.
            kc::log::get("http")->info("join {} over HTTP failed: {}", address,
                                       err.empty() ? std::string("no node joined") : one_line(err));
            return reply(http::message_response(
                400, "Error joining the cluster: no node could be contacted"));
          }
          reply(http::empty_response(200));
        });
      }));

  router.add("DELETE", "/cluster", guarded(opts, [&api](Request& req, const Reply& reply) {
               http::Params params;
               if (auto err = kong_params(req, params)) return reply(*err);
               auto it = params.find("name");
               if (it == params.end())
                 return reply(http::message_response(400, "Missing node \"name\""));
               auto prune = params.find("prune");
               force_leave(api, it->second, prune != params.end() && truthy(prune->second), reply);
             }));

  router.add("DELETE", "/cluster/nodes/:name",
             guarded(opts, [&api](Request& req, const Reply& reply) {
               auto prune = req.query.find("prune");
               force_leave(api, req.params["name"],
                           prune != req.query.end() && truthy(prune->second), reply);
             }));

  auto members = guarded(opts, [&api, opts](Request& req, const Reply& reply) {
    auto status = req.query.find("status");
    json list = json::array();
    for (auto& m : api.members()) {
      if (status != req.query.end() && m.status != status->second) continue;
      json j;
      j["name"] = m.name;
      j["addr"] = member_address(m);
      j["port"] = m.port;
      j["tags"] = json::object();
      for (auto& [k, v] : m.tags) j["tags"][k] = v;
      j["status"] = m.status;
      if (opts->incarnation) {
        if (auto inc = opts->incarnation(m.name)) j["incarnation"] = *inc;
      }
      // serf members -format=json: "protocol" is Serf's (delegate) version range.
      j["protocol"] = protocol(m.delegate_min, m.delegate_max, m.delegate_cur);
      j["memberlist_protocol"] = protocol(m.protocol_min, m.protocol_max, m.protocol_cur);
      list.push_back(std::move(j));
    }
    json body;
    body["members"] = list;
    body["total"] = list.size();
    reply(http::json_response(200, body));
  });
  router.add("GET", "/v1/members", members);
  router.add("GET", "/cluster/members", members);

  add_probe_routes(router, opts->ready);
}

void add_probe_routes(http::Router& router, std::function<bool(std::string& reason)> ready) {
  router.add("GET", "/healthz", [](Request&, const Reply& reply) {
    reply(http::json_response(200, {{"status", "ok"}}));
  });
  router.add("GET", "/readyz", [ready = std::move(ready)](Request&, const Reply& reply) {
    std::string reason;
    if (ready(reason)) return reply(http::json_response(200, {{"status", "ready"}}));
    reply(http::json_response(503, {{"status", "not ready"}, {"reason", reason}}));
  });
}

}  // namespace kc::agent_http

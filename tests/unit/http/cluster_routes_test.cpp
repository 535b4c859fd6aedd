// Kong's /cluster endpoints over a scripted AgentApi: the JSON shapes, status codes and
// messages of kong/api/routes/cluster.lua and kong/api/init.lua, input validation, and our
// /v1/members, /healthz and /readyz; the membership routes behind the token, never for a
// browser, and a join that reveals nothing about the address it tried.
#include "agent/http/cluster_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

using namespace kc;
using json = nlohmann::json;

namespace {

rpc::MemberInfo member(std::string name, std::vector<uint8_t> ip, uint16_t port, std::string status,
                       rpc::Tags tags = {}) {
  rpc::MemberInfo m;
  m.name = std::move(name);
  m.addr = std::move(ip);
  m.port = port;
  m.status = std::move(status);
  m.tags = std::move(tags);
  return m;
}

// Only what the routes use is scripted; the rest is never called.
class FakeApi : public rpc::AgentApi {
 public:
  std::vector<rpc::MemberInfo> list;
  std::vector<std::string> joined;
  int join_result = 1;
  rpc::Error join_error, force_error;
  std::vector<std::pair<std::string, bool>> forced;

  std::vector<rpc::MemberInfo> members() override { return list; }
  void join(const std::vector<std::string>& addrs, bool replay,
            std::function<void(int, rpc::Error)> done) override {
    EXPECT_FALSE(replay);
    joined.insert(joined.end(), addrs.begin(), addrs.end());
    done(join_error.empty() ? join_result : 0, join_error);
  }
  void force_leave(const std::string& node, bool prune,
                   std::function<void(rpc::Error)> done) override {
    forced.emplace_back(node, prune);
    done(force_error);
  }
  void leave(std::function<void(rpc::Error)>) override {}
  void shutdown() override {}
  rpc::Error user_event(const std::string&, const rpc::Bytes&, bool) override { return ""; }
  rpc::Tags local_tags() override { return {}; }
  rpc::Error set_tags(const rpc::Tags&) override { return ""; }
  void key_op(rpc::KeyOp, const std::string&, std::function<void(rpc::KeyResult)>) override {}
  rpc::Error query(const rpc::QueryParams&, std::function<void(const rpc::QueryRecord&)>,
                   std::function<void()>) override {
    return "";
  }
  rpc::Error respond(uint64_t, const rpc::Bytes&) override { return ""; }
  uint64_t subscribe_events(std::function<void(const rpc::Event&)>) override { return 1; }
  void unsubscribe_events(uint64_t) override {}
  std::map<std::string, std::map<std::string, std::string>> stats() override { return {}; }
  std::optional<rpc::Coordinate> coordinate(const std::string&) override { return std::nullopt; }
};

class ClusterRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.list = {
        member("node-a_0.0.0.0:7946_0123", {10, 0, 0, 1}, 7946, "alive", {{"role", "kong"}}),
        member("node-b", {10, 0, 0, 2}, 7946, "failed"),
        member("node-c", std::vector<uint8_t>(16, 0), 7946, "left")};
    api_.list[2].addr[15] = 1;  // ::1
    agent_http::ClusterRoutesOptions o;
    o.ready = [this](std::string& reason) {
      reason = "serf is leaving";
      return ready_;
    };
    o.incarnation = [](const std::string& name) -> std::optional<uint32_t> {
      if (name == "node-a_0.0.0.0:7946_0123") return 7;
      return std::nullopt;
    };
    o.access.token = kToken;
    agent_http::add_cluster_routes(router_, api_, o);
  }

  static constexpr const char* kToken = "t0ken-for-the-api";

  // With the bearer token unless `headers` says otherwise.
  http::Response call(const std::string& method, const std::string& target,
                      const std::string& content_type = "", const std::string& body = "",
                      std::map<std::string, std::string> headers = {
                          {"authorization", std::string("Bearer ") + kToken}}) {
    http::Request req;
    req.headers = std::move(headers);
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = *http::parse_query(target.substr(q + 1));
    if (!content_type.empty()) req.headers["content-type"] = content_type;
    req.body = body;
    http::Response out;
    out.status = 0;
    router_.dispatch(req, [&](http::Response r) { out = std::move(r); });
    return out;
  }

  FakeApi api_;
  http::Router router_;
  bool ready_ = true;
};

}  // namespace

TEST_F(ClusterRoutes, GetClusterHasKongShape) {
  auto r = call("GET", "/cluster");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["total"], 3);
  ASSERT_EQ(j["data"].size(), 3u);
  EXPECT_EQ(j["data"][0], (json{{"name", "node-a_0.0.0.0:7946_0123"},
                                {"address", "10.0.0.1:7946"},
                                {"status", "alive"}}));
  EXPECT_EQ(j["data"][2]["address"], "[::1]:7946");
  EXPECT_EQ(j.size(), 2u);  // exactly data and total
  EXPECT_EQ(j["data"][0].size(), 3u);
  // Trailing slash, as Kong's router allowed.
  EXPECT_EQ(call("GET", "/cluster/").status, 200u);
}

TEST_F(ClusterRoutes, GetClusterFiltersByStatus) {
  auto j = json::parse(call("GET", "/cluster?status=failed").body);
  EXPECT_EQ(j["total"], 1);
  EXPECT_EQ(j["data"][0]["name"], "node-b");
  j = json::parse(call("GET", "/cluster?status=nonsense").body);
  EXPECT_EQ(j["total"], 0);
  EXPECT_TRUE(j["data"].is_array());
}

TEST_F(ClusterRoutes, PostJoinsWithFormJsonOrMultipart) {
  auto r = call("POST", "/cluster", "application/x-www-form-urlencoded", "address=10.0.0.9%3A7946");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "");
  r = call("POST", "/cluster/", "application/json", R"({"address":"kong-2.example:7946"})");
  EXPECT_EQ(r.status, 200u);
  r = call("POST", "/cluster", "multipart/form-data; boundary=b",
           "--b\r\nContent-Disposition: form-data; name=\"address\"\r\n\r\n10.0.0.7\r\n--b--\r\n");
  EXPECT_EQ(r.status, 200u);
  r = call("POST", "/cluster?address=%5B%3A%3A1%5D%3A7946");  // query works too, as in Kong
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(api_.joined, (std::vector<std::string>{"10.0.0.9:7946", "kong-2.example:7946",
                                                   "10.0.0.7", "[::1]:7946"}));
}

TEST_F(ClusterRoutes, PostErrorsMatchKong) {
  auto r = call("POST", "/cluster");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.body, "{\"message\":\"Missing node \\\"address\\\"\"}\n");
  r = call("POST", "/cluster", "application/json", "{not json");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.body, "{\"message\":\"Cannot parse JSON body\"}\n");
  r = call("POST", "/cluster", "text/plain", "address=1.2.3.4");
  EXPECT_EQ(r.status, 415u);
  EXPECT_EQ(r.body, "");
  r = call("POST", "/cluster", "", "address=1.2.3.4");  // a body without a type
  EXPECT_EQ(r.status, 415u);

  api_.join_error = "Failed to join 10.9.9.9:7946: Connection refused";
  r = call("POST", "/cluster", "application/x-www-form-urlencoded", "address=10.9.9.9:7946");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(json::parse(r.body)["message"],
            "Error joining the cluster: no node could be contacted");
}

TEST_F(ClusterRoutes, FailedJoinsLookAlikeWhateverListensThere) {
  // Refused, timed out, or something that is not a member: the caller cannot tell.
  std::set<std::string> bodies;
  for (const char* why :
       {"Failed to join 10.9.9.9:22: EOF", "Failed to join 10.9.9.9:7946: i/o timeout",
        "Failed to join 10.9.9.9:1: Connection refused", ""}) {
    api_.join_error = why;
    api_.join_result = 0;
    auto r = call("POST", "/cluster", "application/x-www-form-urlencoded", "address=10.9.9.9");
    EXPECT_EQ(r.status, 400u);
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies.size(), 1u);
}

TEST_F(ClusterRoutes, MembershipRoutesNeedTheToken) {
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/cluster"},
      {"POST", "/cluster?address=10.0.0.9"},
      {"DELETE", "/cluster?name=node-b"},
      {"DELETE", "/cluster/nodes/node-b?prune=true"},
      {"GET", "/v1/members"},
      {"GET", "/cluster/members"}};
  const std::vector<std::map<std::string, std::string>> wrong = {
      {},
      {{"authorization", "Bearer wrong"}},
      {{"authorization", std::string("Basic ") + kToken}},
      {{"authorization", std::string("Bearer ") + kToken + "x"}},
      {{"authorization", "Bearer "}}};
  for (auto& [method, target] : routes) {
    for (auto& headers : wrong) {
      auto r = call(method, target, "", "", headers);
      EXPECT_EQ(r.status, 401u) << method << " " << target;
      EXPECT_EQ(json::parse(r.body)["message"], "Unauthorized");
    }
  }
  EXPECT_TRUE(api_.joined.empty());
  EXPECT_TRUE(api_.forced.empty());
  // The scheme is case-insensitive, as RFC 7235 says.
  EXPECT_EQ(
      call("GET", "/cluster", "", "", {{"authorization", std::string("bearer ") + kToken}}).status,
      200u);
  // Probes stay open.
  EXPECT_EQ(call("GET", "/healthz", "", "", {}).status, 200u);
  EXPECT_EQ(call("GET", "/readyz", "", "", {}).status, 200u);
}

TEST_F(ClusterRoutes, BrowserRequestsAreRefusedEvenWithTheToken) {
  auto with = [](std::map<std::string, std::string> h) {
    h["authorization"] = std::string("Bearer ") + kToken;
    return h;
  };
  auto r = call("POST", "/cluster", "application/x-www-form-urlencoded", "address=10.0.0.9",
                with({{"origin", "https://evil.example"}}));
  EXPECT_EQ(r.status, 403u);
  auto cross_site = with({{"sec-fetch-site", "cross-site"}});
  EXPECT_EQ(call("DELETE", "/cluster?name=node-b", "", "", cross_site).status, 403u);
  EXPECT_EQ(call("GET", "/v1/members", "", "", with({{"sec-fetch-site", "same-site"}})).status,
            403u);
  EXPECT_EQ(call("GET", "/v1/members", "", "", with({{"origin", "null"}})).status, 403u);
  EXPECT_TRUE(api_.joined.empty());
  EXPECT_TRUE(api_.forced.empty());
  // Typed into the address bar (no page involved): served, and never with CORS headers.
  r = call("GET", "/v1/members", "", "", with({{"sec-fetch-site", "none"}}));
  EXPECT_EQ(r.status, 200u);
  for (auto& [k, v] : r.headers) EXPECT_EQ(k.find("Access-Control"), std::string::npos) << k;
}

TEST(ClusterRoutesWithoutToken, ServedOnlyWhereTheUserSaid) {
  FakeApi api;
  api.list = {member("node-a", {10, 0, 0, 1}, 7946, "alive")};
  auto call = [&](bool serve, const std::string& host) {
    http::Router router;
    agent_http::ClusterRoutesOptions o;
    o.access.serve_without_token = serve;
    agent_http::add_cluster_routes(router, api, o);
    http::Request req;
    req.method = "GET";
    req.target = req.path = "/v1/members";
    req.headers["host"] = host;
    unsigned status = 0;
    router.dispatch(req, [&](http::Response r) { status = r.status; });
    return status;
  };
  EXPECT_EQ(call(false, "127.0.0.1:8946"), 403u);
  EXPECT_EQ(call(true, "127.0.0.1:8946"), 200u);
  EXPECT_EQ(call(true, "localhost:8946"), 200u);
  EXPECT_EQ(call(true, "[::1]:8946"), 200u);
  // A name that is not localhost: a DNS-rebinding page's host.
  EXPECT_EQ(call(true, "rebind.evil.example:8946"), 403u);
  EXPECT_EQ(call(true, ""), 403u);
}

TEST_F(ClusterRoutes, PostRefusesWhatIsNotAnAddress) {
  for (const std::string& bad : std::vector<std::string>{
           "1.2.3.4:7946; rm -rf /", "$(reboot)", "a b:1", "1.2.3.4:0", "1.2.3.4:65536",
           "1.2.3.4:x", "[::1", "[zz::]:1", "-host:1", "", std::string(400, 'a')}) {
    auto r = call("POST", "/cluster", "application/json", json{{"address", bad}}.dump());
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_EQ(
        json::parse(r.body)["message"].get<std::string>().rfind("Invalid node \"address\"", 0), 0u)
        << bad << " " << r.body;
  }
  EXPECT_TRUE(api_.joined.empty());
}

TEST_F(ClusterRoutes, DeleteForceLeavesByBodyOrQuery) {
  auto r = call("DELETE", "/cluster", "application/x-www-form-urlencoded", "name=node-b");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "");
  r = call("DELETE", "/cluster?name=node-c");
  EXPECT_EQ(r.status, 200u);
  r = call("DELETE", "/cluster", "application/json", R"({"name":"node-b","prune":true})");
  EXPECT_EQ(r.status, 200u);
  r = call("DELETE", "/cluster/nodes/node-c?prune=1");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(api_.forced,
            (std::vector<std::pair<std::string, bool>>{
                {"node-b", false}, {"node-c", false}, {"node-b", true}, {"node-c", true}}));
}

TEST_F(ClusterRoutes, DeleteErrorsMatchKong) {
  auto r = call("DELETE", "/cluster");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.body, "{\"message\":\"Missing node \\\"name\\\"\"}\n");
  r = call("DELETE", "/cluster?name=bad%0Aname");
  EXPECT_EQ(r.status, 400u);
  r = call("DELETE", "/cluster?name=");
  EXPECT_EQ(r.status, 400u);
  api_.force_error = "no such member";
  r = call("DELETE", "/cluster?name=node-x");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(json::parse(r.body)["message"], "Error force leaving: no such member");
}

TEST_F(ClusterRoutes, UnknownMethodAndPath) {
  auto r = call("PUT", "/cluster");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.body, "{\"message\":\"Method not allowed\"}\n");
  r = call("GET", "/cluster/nodes");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.body, "{\"message\":\"Not found\"}\n");
}

TEST_F(ClusterRoutes, MembersCarryTagsIncarnationAndProtocols) {
  for (auto path : {"/v1/members", "/cluster/members"}) {
    auto r = call("GET", path);
    ASSERT_EQ(r.status, 200u);
    auto j = json::parse(r.body);
    EXPECT_EQ(j["total"], 3);
    auto& a = j["members"][0];
    EXPECT_EQ(a["name"], "node-a_0.0.0.0:7946_0123");
    EXPECT_EQ(a["addr"], "10.0.0.1:7946");
    EXPECT_EQ(a["port"], 7946);
    EXPECT_EQ(a["tags"], (json{{"role", "kong"}}));
    EXPECT_EQ(a["status"], "alive");
    EXPECT_EQ(a["incarnation"], 7);
    EXPECT_EQ(a["protocol"], (json{{"min", 2}, {"max", 5}, {"version", 5}}));
    EXPECT_EQ(a["memberlist_protocol"], (json{{"min", 1}, {"max", 5}, {"version", 2}}));
    EXPECT_FALSE(j["members"][1].contains("incarnation"));
    EXPECT_TRUE(j["members"][1]["tags"].is_object());
  }
  auto j = json::parse(call("GET", "/v1/members?status=left").body);
  EXPECT_EQ(j["total"], 1);
}

TEST_F(ClusterRoutes, HealthAndReadiness) {
  EXPECT_EQ(call("GET", "/healthz").status, 200u);
  EXPECT_EQ(call("GET", "/readyz").status, 200u);
  ready_ = false;
  auto r = call("GET", "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(json::parse(r.body)["reason"], "serf is leaving");
  EXPECT_EQ(call("GET", "/healthz").status, 200u);
}

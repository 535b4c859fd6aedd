// Kong's /cluster endpoints over a scripted AgentApi: the JSON shapes, status codes and
// messages of kong/api/routes/cluster.lua and kong/api/init.lua, input validation, and our
// /v1/members, /healthz and /readyz.
#include "agent/http/cluster_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
    agent_http::add_cluster_routes(router_, api_, o);
  }

  http::Response call(const std::string& method, const std::string& target,
                      const std::string& content_type = "", const std::string& body = "") {
    http::Request req;
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
            "Error joining the cluster: Failed to join 10.9.9.9:7946: Connection refused");
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

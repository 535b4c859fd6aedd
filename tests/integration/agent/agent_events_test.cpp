// Serf's events leaving a real agent: a serf-style handler script gets a user event and a
// member join with serf's environment and stdin; the local Kong Admin API (a fake one here)
// receives the JSON Kong's serf_event.sh used to post; a handler that hangs is killed and
// counted while gossip carries on.
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "agent_fixture.h"
#include "common/http/server.h"

using namespace kc;
using namespace kc::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::vector<std::string> dumps(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".out") continue;
    std::ifstream in(e.path());
    std::stringstream s;
    s << in.rdbuf();
    out.push_back(s.str());
  }
  return out;
}

std::optional<std::string> find_dump(const std::string& dir,
                                     const std::vector<std::string>& needles) {
  for (auto& d : dumps(dir)) {
    bool all = true;
    for (auto& n : needles) all = all && d.find(n) != std::string::npos;
    if (all) return d;
  }
  return std::nullopt;
}

// A stand-in for Kong's Admin API: records every request, answers 200.
class FakeKong {
 public:
  FakeKong() {
    loop_.run([&] {
      http::ServerOptions o;
      o.bind = "127.0.0.1:0";
      server_ = std::make_unique<http::Server>(loop_.io(), o,
                                               [this](http::Request& req, http::Reply reply) {
                                                 std::lock_guard<std::mutex> lock(mu_);
                                                 requests_.push_back(req);
                                                 reply(http::empty_response(200));
                                               });
      server_->start();
      port_ = server_->local_endpoint().port();
      return 0;
    });
  }
  ~FakeKong() {
    loop_.run([&] {
      server_.reset();
      return 0;
    });
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<http::Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::optional<http::Request> find(const std::function<bool(const http::Request&)>& pred) {
    for (auto& r : requests())
      if (pred(r)) return r;
    return std::nullopt;
  }

 private:
  LoopThread loop_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::vector<http::Request> requests_;
  int port_ = 0;
};

CommandResult send_event(GossipAgent& via, const std::string& name, const std::string& payload) {
  return run_command({kong_cluster_binary(), "event", "--rpc-addr", via.rpc_addr(), "--no-coalesce",
                      name, payload});
}

class AgentEvents : public ::testing::Test {
 protected:
  TempDir dir_;
};

}  // namespace

TEST_F(AgentEvents, HandlerScriptGetsSerfEnvironmentAndStdin) {
  auto out = dir_.path() + "/out";
  std::filesystem::create_directories(out);
  auto script = write_dump_script(out);
  HttpAgent a(dir_, "ev-a", {"--event-handler", "member-join,user:deploy=" + script}, {},
              {{"role", "gateway"}, {"zone.name", "z1"}});
  ASSERT_TRUE(a.wait_http()) << a.agent().process().log();
  HttpAgent b(dir_, "ev-b", {}, {a.agent().gossip_addr()}, {{"role", "kong"}});
  ASSERT_TRUE(b.wait_http());

  // The join arrives coalesced (serf's agent holds member events up to 3 s).
  auto join = "ev-b\t127.0.0.1\tkong\trole=kong\n";
  ASSERT_TRUE(wait_until(
      [&] {
        return find_dump(out, {"SERF_EVENT=member-join", join}).has_value();
      },
      20s))
      << a.agent().process().log();
  auto d = *find_dump(out, {"SERF_EVENT=member-join", join});
  EXPECT_NE(d.find("SERF_SELF_NAME=ev-a\n"), std::string::npos) << d;
  EXPECT_NE(d.find("SERF_SELF_ROLE=gateway\n"), std::string::npos) << d;
  EXPECT_NE(d.find("SERF_TAG_ZONE_NAME=z1\n"), std::string::npos) << d;

  auto r = send_event(b.agent(), "deploy", "hello world");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(
      wait_until([&] { return find_dump(out, {"SERF_USER_EVENT=deploy"}).has_value(); }, 20s));
  d = *find_dump(out, {"SERF_USER_EVENT=deploy"});
  EXPECT_NE(d.find("SERF_EVENT=user\n"), std::string::npos) << d;
  EXPECT_NE(d.find("SERF_USER_LTIME="), std::string::npos) << d;
  EXPECT_NE(d.find("--stdin--\nhello world\n"), std::string::npos) << d;

  // An event the filter does not name runs nothing.
  auto before = dumps(out).size();
  ASSERT_EQ(send_event(b.agent(), "other", "x").exit_code, 0);
  ASSERT_EQ(send_event(b.agent(), "deploy", "second").exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return find_dump(out, {"--stdin--\nsecond\n"}).has_value(); }, 20s));
  EXPECT_EQ(dumps(out).size(), before + 1);
  EXPECT_FALSE(find_dump(out, {"SERF_USER_EVENT=other"}));
}

TEST_F(AgentEvents, KongAdminApiReceivesKongsEventJson) {
  FakeKong kong;
  HttpAgent a(dir_, "kong-1", {"--kong-admin-url", kong.url()});
  ASSERT_TRUE(a.wait_http()) << a.agent().process().log();
  HttpAgent b(dir_, "kong-2", {}, {a.agent().gossip_addr()});
  ASSERT_TRUE(b.wait_http());

  auto is_join_of_b = [](const http::Request& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.value("type", "") == "member-join" &&
           j.value("entity", "").find("kong-2\t127.0.0.1\t") != std::string::npos;
  };
  ASSERT_TRUE(wait_until([&] { return kong.find(is_join_of_b).has_value(); }, 20s))
      << a.agent().process().log();
  auto join = *kong.find(is_join_of_b);
  EXPECT_EQ(join.method, "POST");
  EXPECT_EQ(join.path, "/cluster/events/");
  EXPECT_EQ(join.header("content-type"), "application/json");

  // Kong's invalidation event, sent from the other node, is posted verbatim.
  std::string payload =
      R"({"collection":"apis","primary_key":["id"],"type":"ENTITY_DELETED","entity":{"id":"42"}})";
  ASSERT_EQ(send_event(b.agent(), "kong", payload).exit_code, 0);
  ASSERT_EQ(send_event(b.agent(), "not-for-kong", "{}").exit_code, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        return kong.find([&](const http::Request& r) { return r.body == payload; }).has_value();
      },
      20s));
  EXPECT_FALSE(kong.find([](const http::Request& r) { return r.body == "{}"; }));

  // And the member leaving.
  b.agent().process().signal(SIGTERM);
  EXPECT_EQ(b.agent().process().wait_exit(30000), 0);
  EXPECT_TRUE(wait_until(
      [&] {
        return kong
            .find([](const http::Request& r) {
              auto j = json::parse(r.body, nullptr, false);
              return j.is_object() && j.value("type", "") == "member-leave";
            })
            .has_value();
      },
      20s))
      << "kong-1's log:\n"
      << a.agent().process().log() << "\nkong-2's log:\n"
      << b.agent().process().log();
}

TEST_F(AgentEvents, HangingHandlerIsKilledAndGossipGoesOn) {
  auto conf = dir_.path() + "/kong.conf";
  std::ofstream(conf) << "cluster_event_handler_timeout = 1\n";
  HttpAgent a(dir_, "hang-a", {"--conf", conf, "--event-handler", "user=sleep 600"});
  ASSERT_TRUE(a.wait_http()) << a.agent().process().log();
  HttpAgent b(dir_, "hang-b", {}, {a.agent().gossip_addr()});
  ASSERT_TRUE(b.wait_http());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(send_event(b.agent(), "x", std::to_string(i)).exit_code, 0);
  // Meanwhile a third member joins and everyone sees it.
  HttpAgent c(dir_, "hang-c", {}, {b.agent().gossip_addr()});
  ASSERT_TRUE(c.wait_http()) << c.agent().process().log();
  ASSERT_TRUE(wait_until([&] { return a.status_of("hang-c") == "alive"; }, 20s))
      << "a's view: " << a.cluster().dump() << "\n--- a ---\n"
      << a.agent().process().log() << "\n--- b ---\n"
      << b.agent().process().log() << "\n--- c ---\n"
      << c.agent().process().log();
  ASSERT_TRUE(wait_until(
      [&] {
        auto text = get(a.base(), "/metrics").response.body;
        return text.find("kong_cluster_event_handler_runs_total{result=\"timeout\"} 3") !=
               std::string::npos;
      },
      30s))
      << get(a.base(), "/metrics").response.body;
  EXPECT_EQ(get(a.base(), "/healthz").response.status, 200u);
}

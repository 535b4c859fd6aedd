// Kong's Admin API cluster endpoints served by real agents: join through
// POST /cluster, the member list in Kong's shape, force-leave of a killed member through
// DELETE /cluster, every kind of bad input answered with Kong's 4xx while the agent stays up;
// /v1/members, /healthz, /readyz; and /metrics accepted by promtool.
#include <signal.h>

#include <fstream>

#include "agent_fixture.h"
#include "support/promtool.h"

using namespace kc::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

class AgentHttp : public ::testing::Test {
 protected:
  TempDir dir_;
};

}  // namespace

TEST_F(AgentHttp, JoinListAndForceLeaveThroughKongEndpoints) {
  HttpAgent a(dir_, "kong-a", {}, {}, {{"role", "kong"}});
  HttpAgent b(dir_, "kong-b");
  ASSERT_TRUE(a.wait_http()) << a.agent().process().log();
  ASSERT_TRUE(b.wait_http()) << b.agent().process().log();

  auto r = send(a.base(), "POST", "/cluster", "application/x-www-form-urlencoded",
                "address=" + b.agent().gossip_addr());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 200u);
  EXPECT_EQ(r.response.body, "");
  EXPECT_EQ(r.response.headers["content-type"], "application/json; charset=utf-8");
  ASSERT_TRUE(wait_until([&] { return b.status_of("kong-a") == "alive"; }, 20s));

  auto j = a.cluster();
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["total"], 2);
  for (auto& m : j["data"]) {
    EXPECT_EQ(m.size(), 3u);
    EXPECT_EQ(m["status"], "alive");
    if (m["name"] == "kong-b") {
      EXPECT_EQ(m["address"], b.agent().gossip_addr());
    }
  }
  EXPECT_EQ(a.cluster("?status=failed")["total"], 0);

  auto members = json::parse(get(b.base(), "/v1/members").response.body);
  bool found = false;
  for (auto& m : members["members"])
    if (m["name"] == "kong-a") {
      found = true;
      EXPECT_EQ(m["tags"]["role"], "kong");
      EXPECT_GE(m["incarnation"].get<int>(), 1);
      EXPECT_EQ(m["protocol"]["max"], 5);
    }
  EXPECT_TRUE(found) << members.dump();

  // A killed member turns failed; DELETE /cluster makes it left, as Kong documented.
  b.agent().process().kill9();
  ASSERT_TRUE(wait_until([&] { return a.status_of("kong-b") == "failed"; }, 40s));
  EXPECT_EQ(a.cluster("?status=failed")["total"], 1);
  r = send(a.base(), "DELETE", "/cluster", "application/x-www-form-urlencoded", "name=kong-b");
  EXPECT_EQ(r.response.status, 200u);
  EXPECT_EQ(r.response.body, "");
  EXPECT_TRUE(wait_until([&] { return a.status_of("kong-b") == "left"; }, 20s));
}

TEST_F(AgentHttp, BadInputGetsKongErrorsAndTheAgentStaysUp) {
  HttpAgent a(dir_, "kong-bad");
  ASSERT_TRUE(a.wait_http()) << a.agent().process().log();
  auto msg = [](const SyncResult& r) {
    return json::parse(r.response.body, nullptr, false).value("message", std::string("<none>"));
  };
  auto r = send(a.base(), "POST", "/cluster", "", "");
  EXPECT_EQ(r.response.status, 400u);
  EXPECT_EQ(msg(r), "Missing node \"address\"");
  r = send(a.base(), "POST", "/cluster", "application/json", "{\"address\":");
  EXPECT_EQ(r.response.status, 400u);
  EXPECT_EQ(msg(r), "Cannot parse JSON body");
  r = send(a.base(), "POST", "/cluster", "text/xml", "<address/>");
  EXPECT_EQ(r.response.status, 415u);
  r = send(a.base(), "POST", "/cluster", "application/json",
           "{\"address\":\"127.0.0.1:7946; touch " + dir_.path() + "/pwned\"}");
  EXPECT_EQ(r.response.status, 400u);
  EXPECT_EQ(msg(r).rfind("Invalid node \"address\"", 0), 0u) << msg(r);
  EXPECT_FALSE(std::ifstream(dir_.path() + "/pwned").good());
  // A well-formed address nobody answers on: serf's join error, Kong's 400.
  r = send(a.base(), "POST", "/cluster", "application/x-www-form-urlencoded",
           "address=127.0.0.1:" + std::to_string(free_port()));
  EXPECT_EQ(r.response.status, 400u);
  EXPECT_EQ(msg(r).rfind("Error joining the cluster: ", 0), 0u) << msg(r);

  r = send(a.base(), "DELETE", "/cluster", "", "");
  EXPECT_EQ(r.response.status, 400u);
  EXPECT_EQ(msg(r), "Missing node \"name\"");
  r = send(a.base(), "DELETE", "/cluster?name=%01bad", "", "");
  EXPECT_EQ(r.response.status, 400u);
  EXPECT_EQ(send(a.base(), "PATCH", "/cluster", "application/json", "{}").response.status, 405u);
  EXPECT_EQ(get(a.base(), "/cluster/nope").response.status, 404u);

  // Malformed HTTP of several kinds, straight onto the socket.
  auto port = static_cast<uint16_t>(std::stoi(a.base().substr(a.base().rfind(':') + 1)));
  EXPECT_EQ(raw_exchange(port, "GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(
      raw_exchange(port, "GET /cluster HTTP/1.1\r\nX: " + std::string(40000, 'x') + "\r\n\r\n")
          .rfind("HTTP/1.1 431", 0),
      0u);
  EXPECT_EQ(raw_exchange(port, "POST /cluster HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
                .rfind("HTTP/1.1 413", 0),
            0u);
  EXPECT_EQ(raw_exchange(port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11))
                .rfind("HTTP/1.1 400", 0),
            0u);

  EXPECT_TRUE(a.agent().process().running());
  EXPECT_EQ(get(a.base(), "/healthz").response.status, 200u);
  EXPECT_EQ(get(a.base(), "/readyz").response.status, 200u);
  EXPECT_EQ(a.cluster()["total"], 1);
}

TEST_F(AgentHttp, MetricsPassPromtool) {
  HttpAgent a(dir_, "kong-m1");
  ASSERT_TRUE(a.wait_http());
  HttpAgent b(dir_, "kong-m2", {}, {a.agent().gossip_addr()});
  ASSERT_TRUE(b.wait_http());
  ASSERT_TRUE(wait_until([&] { return a.status_of("kong-m2") == "alive"; }, 20s));
  get(a.base(), "/cluster");  // so the HTTP series have a sample
  std::string text;
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = get(a.base(), "/metrics");
        text = r.response.body;
        return text.find("kong_cluster_members{status=\"alive\"} 2") != std::string::npos;
      },
      20s))
      << text;
  auto r = get(a.base(), "/metrics");
  EXPECT_EQ(r.response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  for (auto* series :
       {"kong_cluster_build_info{version=", "kong_cluster_gossip_packets_total{direction=\"sent\"}",
        "kong_cluster_gossip_probes_total ", "kong_cluster_gossip_health_score ",
        "kong_cluster_serf_queue_depth{queue=\"intent\"}", "kong_cluster_rpc_connections ",
        "kong_cluster_http_requests_total{code=\"200\",route=\"/cluster\"}",
        "kong_cluster_serf_events_total{type=\"member-join\"}", "process_cpu_seconds_total "})
    EXPECT_NE(text.find(series), std::string::npos) << series;
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed";
  auto check = promtool_check_metrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "");
}

TEST_F(AgentHttp, GracefulLeaveIsSeenAsLeft) {
  HttpAgent a(dir_, "kong-g1");
  ASSERT_TRUE(a.wait_http());
  HttpAgent b(dir_, "kong-g2", {}, {a.agent().gossip_addr()});
  ASSERT_TRUE(b.wait_http());
  ASSERT_TRUE(wait_until([&] { return a.status_of("kong-g2") == "alive"; }, 20s));
  b.agent().process().signal(SIGTERM);
  EXPECT_EQ(b.agent().process().wait_exit(30000), 0) << b.agent().process().log();
  EXPECT_TRUE(wait_until([&] { return a.status_of("kong-g2") == "left"; }, 20s))
      << "kong-g1 lists kong-g2 as '" << a.status_of("kong-g2") << "'\n--- kong-g1:\n"
      << a.agent().process().log() << "\n--- kong-g2:\n"
      << b.agent().process().log();
}

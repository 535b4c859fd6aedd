// The dispatcher: filters, per-handler order, the global concurrency limit, queue overflow,
// timeouts counted, a query answered with the handler's output, and stop.
#include "agent/events/script_handlers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agent/serf/messages.h"
#include "events_test_util.h"
#include "support/process.h"

using namespace kc;
using namespace kc::events;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<HandlerSpec> specs(const std::vector<std::string>& items) {
  std::vector<HandlerSpec> out;
  EXPECT_EQ(parse_handler_list(items, out), "");
  return out;
}

class Responder : public serf::QueryResponder {
 public:
  gossip::TimePoint now() const override { return gossip::Clock::now(); }
  size_t response_size_limit() const override { return 1024; }
  const std::string& local_name() const override { return name; }
  std::string send_response(const serf::Query&, const serf::Bytes&,
                            const serf::MessageQueryResponse& resp) override {
    sent.push_back(std::string(resp.payload.begin(), resp.payload.end()));
    return "";
  }
  std::string name = "self";
  std::vector<std::string> sent;
};

}  // namespace

TEST(ScriptHandlers, RunsMatchingHandlersInOrder) {
  test::TempDir dir;
  boost::asio::io_context io;
  auto log = dir.path() + "/log";
  ScriptHandlers h(io,
                   specs({"user:kong=cat >> " + log + "; echo \"$SERF_USER_LTIME\" >> " + log,
                          "member-join=echo join >> " + dir.path() + "/joins"}),
                   [] {
                     return test::make_member("self", {127, 0, 0, 1}, 7946);
                   });
  for (int i = 1; i <= 5; ++i) h.dispatch(test::user_event("kong", "e" + std::to_string(i), i));
  h.dispatch(test::user_event("other", "ignored"));
  h.dispatch(serf::MemberEvent{serf::EventType::MemberJoin, {}});
  ASSERT_TRUE(test::run_until(io, [&] { return h.stats().runs == 6; }));
  EXPECT_EQ(slurp(log), "e1\n1\ne2\n2\ne3\n3\ne4\n4\ne5\n5\n");
  EXPECT_EQ(slurp(dir.path() + "/joins"), "join\n");
  EXPECT_EQ(h.stats().failures, 0u);
  EXPECT_EQ(h.stats().running, 0u);
  EXPECT_EQ(h.stats().queued, 0u);
}

TEST(ScriptHandlers, ConcurrencyLimitHolds) {
  test::TempDir dir;
  boost::asio::io_context io;
  // Each handler records how many are running when it starts (a marker file per run).
  std::vector<std::string> items;
  for (int i = 0; i < 4; ++i)
    items.push_back("user=touch " + dir.path() + "/run.$$; ls " + dir.path() + " | grep -c run > " +
                    dir.path() + "/seen." + std::to_string(i) + "; sleep 0.2; rm " + dir.path() +
                    "/run.$$");
  HandlerOptions o;
  o.max_concurrent = 2;
  ScriptHandlers h(
      io, specs(items),
      [] {
        return test::make_member("s", {127, 0, 0, 1}, 1);
      },
      o);
  size_t max_running = 0;
  h.dispatch(test::user_event("x", ""));
  ASSERT_TRUE(test::run_until(io, [&] {
    max_running = std::max(max_running, h.stats().running);
    return h.stats().runs == 4;
  }));
  EXPECT_LE(max_running, 2u);
  for (int i = 0; i < 4; ++i) {
    int seen = std::stoi(slurp(dir.path() + "/seen." + std::to_string(i)));
    EXPECT_LE(seen, 2) << i;
  }
}

TEST(ScriptHandlers, QueueOverflowAndTimeoutsAreCounted) {
  boost::asio::io_context io;
  HandlerOptions o;
  o.queue_limit = 2;
  o.child.timeout = 200ms;
  ScriptHandlers h(
      io, specs({"user=sleep 30"}),
      [] {
        return test::make_member("s", {127, 0, 0, 1}, 1);
      },
      o);
  for (int i = 0; i < 5; ++i) h.dispatch(test::user_event("x", ""));
  // One running, two queued, two dropped.
  EXPECT_EQ(h.stats().dropped, 2u);
  ASSERT_TRUE(test::run_until(
      io, [&] { return h.stats().runs == 3; }, 30s));
  EXPECT_EQ(h.stats().timeouts, 3u);
}

TEST(ScriptHandlers, FailuresAndSpawnErrorsCounted) {
  boost::asio::io_context io;
  ScriptHandlers h(io, specs({"user=exit 2"}), [] {
    return test::make_member("s", {127, 0, 0, 1}, 1);
  });
  h.dispatch(test::user_event("x", ""));
  ASSERT_TRUE(test::run_until(io, [&] { return h.stats().runs == 1; }));
  EXPECT_EQ(h.stats().failures, 1u);

  HandlerOptions o;
  o.child.shell = "/nonexistent/sh";
  ScriptHandlers bad(
      io, specs({"user=true"}),
      [] {
        return test::make_member("s", {127, 0, 0, 1}, 1);
      },
      o);
  bad.dispatch(test::user_event("x", ""));
  ASSERT_TRUE(test::run_until(io, [&] { return bad.stats().runs == 1; }));
  EXPECT_EQ(bad.stats().spawn_errors, 1u);
}

TEST(ScriptHandlers, QueryAnsweredWithOutput) {
  boost::asio::io_context io;
  auto responder = std::make_shared<Responder>();
  auto q = std::make_shared<serf::Query>(responder);
  q->name = "uptime";
  q->payload = {'h', 'i'};
  q->deadline = gossip::Clock::now() + 30s;
  ScriptHandlers h(io, specs({"query:uptime=echo \"answer to $(cat)\""}), [] {
    return test::make_member("s", {127, 0, 0, 1}, 1);
  });
  h.dispatch(q);
  ASSERT_TRUE(test::run_until(io, [&] { return h.stats().runs == 1; }));
  ASSERT_EQ(responder->sent.size(), 1u);
  EXPECT_EQ(responder->sent[0], "answer to hi\n");
  EXPECT_EQ(h.stats().query_responses, 1u);
}

TEST(ScriptHandlers, StopKillsAndDrops) {
  boost::asio::io_context io;
  ScriptHandlers h(io, specs({"user=sleep 30"}), [] {
    return test::make_member("s", {127, 0, 0, 1}, 1);
  });
  h.dispatch(test::user_event("x", ""));
  h.dispatch(test::user_event("x", ""));
  h.stop();
  EXPECT_EQ(h.stats().dropped, 1u);
  ASSERT_TRUE(test::run_until(io, [&] { return h.stats().runs == 1; }));
  h.dispatch(test::user_event("x", ""));  // ignored after stop
  EXPECT_EQ(h.stats().queued, 0u);
}

TEST(ScriptHandlers, SecretsInTheAgentsEnvironmentDoNotReachHandlers) {
  test::TempDir dir;
  boost::asio::io_context io;
  ::setenv("KONG_CLUSTER_RPC_AUTH", "rpc-token-secret", 1);
  ::setenv("KONG_CLUSTER_ENCRYPT_KEY", "gossip-key-secret", 1);
  ::setenv("KONG_PG_PASSWORD", "pg-password-secret", 1);
  ::setenv("KC_TEST_NAMED", "named-value", 1);
  ::setenv("KC_TEST_PREFIX_A", "prefix-value", 1);
  HandlerOptions o;
  o.env_allow = {"KC_TEST_NAMED", "KC_TEST_PREFIX_*"};
  auto out = dir.path() + "/env";
  ScriptHandlers h(
      io, specs({"user=env > " + out}),
      [] {
        return test::make_member("self", {127, 0, 0, 1}, 7946);
      },
      o);
  ::unsetenv("KONG_CLUSTER_RPC_AUTH");
  ::unsetenv("KONG_CLUSTER_ENCRYPT_KEY");
  ::unsetenv("KONG_PG_PASSWORD");
  ::unsetenv("KC_TEST_NAMED");
  ::unsetenv("KC_TEST_PREFIX_A");
  h.dispatch(test::user_event("deploy", "x"));
  ASSERT_TRUE(test::run_until(io, [&] { return h.stats().runs == 1; }));
  auto env = slurp(out);
  for (const char* secret : {"rpc-token-secret", "gossip-key-secret", "pg-password-secret"})
    EXPECT_EQ(env.find(secret), std::string::npos) << secret << " in\n" << env;
  EXPECT_NE(env.find("KC_TEST_NAMED=named-value\n"), std::string::npos) << env;
  EXPECT_NE(env.find("KC_TEST_PREFIX_A=prefix-value\n"), std::string::npos) << env;
  EXPECT_NE(env.find("\nPATH="), std::string::npos) << env;
  EXPECT_NE(env.find("SERF_EVENT=user\n"), std::string::npos) << env;
  EXPECT_NE(env.find("SERF_USER_EVENT=deploy\n"), std::string::npos) << env;
}

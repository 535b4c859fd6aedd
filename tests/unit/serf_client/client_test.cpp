// The blocking client against our server (and the fake agent behind it).
#include "serf_client/client.h"

#include <gtest/gtest.h>

#include "support/process.h"
#include "support/wait.h"
#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

using kc::serf_client::Client;
using kc::serf_client::ClientError;
using kc::serf_client::ClientOptions;
using kc::serf_client::RemoteError;

ClientOptions opts(const ServerHarness& h, std::string auth = "") {
  ClientOptions o;
  o.addr = h.addr();
  o.auth_key = std::move(auth);
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.reply_timeout = std::chrono::milliseconds(10000);
  return o;
}

TEST(Client, RequestReplyCommands) {
  ServerHarness h;
  Client c(opts(h));
  auto members = c.members();
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].name, "r");
  EXPECT_EQ(c.members_filtered({}, "failed", "").size(), 0u);
  EXPECT_EQ(c.join({"10.1.1.1:7946", "10.1.1.2:7946"}, true), 1);
  c.force_leave("gone", true);
  c.user_event("deploy", {'v', '1'}, false);
  c.update_tags({{"k", "v"}}, {"role"});
  auto stats = c.stats();
  EXPECT_EQ(stats.at("agent").at("name"), "r");
  EXPECT_TRUE(c.coordinate("r"));
  EXPECT_FALSE(c.coordinate("nobody"));
  auto keys = c.key_op(kc::serf_client::KeyOp::List, "");
  EXPECT_EQ(keys.error, "");
  auto calls = h.agent.calls();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "join 10.1.1.1:7946,10.1.1.2:7946 replay"),
            calls.end());
  EXPECT_NE(std::find(calls.begin(), calls.end(), "force-leave gone prune"), calls.end());
  EXPECT_NE(std::find(calls.begin(), calls.end(), "event deploy v1"), calls.end());
  EXPECT_NE(std::find(calls.begin(), calls.end(), "set-tags k=v"), calls.end());
}

TEST(Client, RemoteErrorsCarrySerfsText) {
  ServerHarness h;
  h.agent.join_error = "Failed to join 10.9.9.9: connection refused";
  h.agent.event_error = "user event exceeds configured limit of 512 bytes before encoding";
  Client c(opts(h));
  try {
    c.join({"10.9.9.9:7946"}, false);
    FAIL();
  } catch (const RemoteError& e) {
    EXPECT_STREQ(e.what(), "Failed to join 10.9.9.9: connection refused");
  }
  EXPECT_THROW(c.user_event("big", {}, true), RemoteError);
  // The connection is still usable after errors.
  EXPECT_EQ(c.members().size(), 1u);
}

TEST(Client, Authentication) {
  ServerHarness h("s3cret");
  EXPECT_NO_THROW(Client c(opts(h, "s3cret")));
  try {
    Client c(opts(h, "wrong"));
    FAIL();
  } catch (const RemoteError& e) {
    EXPECT_STREQ(e.what(), "Invalid authentication token");
  }
  Client unauth(opts(h));
  try {
    unauth.members();
    FAIL();
  } catch (const RemoteError& e) {
    EXPECT_STREQ(e.what(), "Authentication required");
  }
  // No body followed that error, so the next call is still in step.
  EXPECT_THROW(unauth.stats(), RemoteError);
}

TEST(Client, ConnectionRefusedAndBadAddresses) {
  int port = free_port();
  ClientOptions o;
  o.addr = "127.0.0.1:" + std::to_string(port);
  try {
    Client c(o);
    FAIL();
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
  o.addr = "no-port-here";
  EXPECT_THROW(Client c(o), ClientError);
  o.addr = "127.0.0.1:99999";
  EXPECT_THROW(Client c(o), ClientError);
}

TEST(Client, StreamsAndStop) {
  ServerHarness h;
  Client c(opts(h));
  uint64_t seq = c.stream("user");
  EXPECT_TRUE(wait_until([&] { return h.agent.subscribers() == 1; }));
  c.user_event("one", {}, false);  // the record races the reply; the client keeps it
  kc::serf_client::StreamRecord rec;
  ASSERT_EQ(c.next_record(rec, std::chrono::milliseconds(5000)), Client::Wait::Record);
  EXPECT_EQ(rec.seq, seq);
  EXPECT_EQ(rec.body.root().get("Name").string(), "one");
  c.stop(seq);
  EXPECT_EQ(h.agent.subscribers(), 0u);
  c.user_event("two", {}, false);
  EXPECT_EQ(c.next_record(rec, std::chrono::milliseconds(200)), Client::Wait::Timeout);
  EXPECT_THROW(c.stream("bogus"), RemoteError);
}

TEST(Client, QueryRecordsEndWithDone) {
  ServerHarness h;
  h.agent.member_list.push_back(make_member("b", {127, 0, 0, 2}, 7946));
  Client c(opts(h));
  kc::serf_client::QueryParams p;
  p.name = "whoami";
  p.request_ack = true;
  p.timeout = std::chrono::milliseconds(300);
  uint64_t seq = c.query(p);
  std::vector<std::string> types;
  while (true) {
    kc::serf_client::StreamRecord rec;
    ASSERT_EQ(c.next_record(rec, std::chrono::milliseconds(5000)), Client::Wait::Record);
    ASSERT_EQ(rec.seq, seq);
    types.push_back(rec.body.root().get("Type").string());
    if (types.back() == "done") break;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"ack", "ack", "done"}));
  p.name = "_serf_other";
  try {
    c.query(p);
    FAIL();
  } catch (const RemoteError& e) {
    EXPECT_STREQ(e.what(), "Queries cannot contain the '_serf_' prefix");
  }
}

TEST(Client, MonitorFollowsTheLog) {
  ServerHarness h;
  Client c(opts(h));
  uint64_t seq = c.monitor("info");
  kc::log::get("clienttest")->info("hello from the test");
  bool seen = false;
  while (!seen) {
    kc::serf_client::StreamRecord rec;
    ASSERT_EQ(c.next_record(rec, std::chrono::milliseconds(5000)), Client::Wait::Record);
    EXPECT_EQ(rec.seq, seq);
    seen = rec.body.root().get("Log").string().find("clienttest: hello from the test") !=
           std::string::npos;
  }
  EXPECT_THROW(c.monitor("loud"), RemoteError);
}

TEST(Client, ServerGoingAwayIsAClientError) {
  auto h = std::make_unique<ServerHarness>();
  Client c(opts(*h));
  uint64_t seq = c.stream("*");
  (void)seq;
  h.reset();
  kc::serf_client::StreamRecord rec;
  EXPECT_THROW(c.next_record(rec, std::chrono::milliseconds(5000)), ClientError);
}

TEST(Client, LeaveShutsTheAgentDown) {
  ServerHarness h;
  Client c(opts(h));
  c.leave();
  EXPECT_TRUE(wait_until([&] { return h.agent.shutdown_called(); }));
}

}  // namespace
}  // namespace kc::test

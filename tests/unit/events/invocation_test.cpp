// The environment and stdin serf's agent gives a handler (invoke.go), byte for byte.
#include "agent/events/invocation.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "events_test_util.h"

using namespace kc;
using namespace kc::events;

namespace {

std::string env_value(const Invocation& inv, const std::string& name) {
  std::string found;
  int n = 0;
  for (auto& e : inv.env)
    if (e.rfind(name + "=", 0) == 0) {
      found = e.substr(name.size() + 1);
      ++n;
    }
  EXPECT_LE(n, 1) << name << " set twice";
  return n ? found : "<unset>";
}

}  // namespace

TEST(Invocation, MemberEventLinesAndEnvironment) {
  auto self = test::make_member("self", {10, 0, 0, 1}, 7946,
                                {{"role", "kong"}, {"dc", "eu-1"}, {"my.tag-x", "v"}});
  serf::MemberEvent e{
      serf::EventType::MemberJoin,
      {test::make_member("a\tb", {10, 0, 0, 2}, 7946, {{"role", "web"}, {"z", "1"}}),
       test::make_member("c", {10, 0, 0, 3}, 7000)}};
  auto inv = make_invocation(e, self, {"PATH=/usr/bin", "SERF_EVENT=stale", "HOME=/root"});
  EXPECT_EQ(inv.input, "a\\tb\t10.0.0.2\tweb\trole=web,z=1\nc\t10.0.0.3\t\t\n");
  EXPECT_EQ(env_value(inv, "SERF_EVENT"), "member-join");
  EXPECT_EQ(env_value(inv, "SERF_SELF_NAME"), "self");
  EXPECT_EQ(env_value(inv, "SERF_SELF_ROLE"), "kong");
  EXPECT_EQ(env_value(inv, "SERF_TAG_ROLE"), "kong");
  EXPECT_EQ(env_value(inv, "SERF_TAG_DC"), "eu-1");
  EXPECT_EQ(env_value(inv, "SERF_TAG_MY_TAG_X"), "v");
  EXPECT_EQ(env_value(inv, "PATH"), "/usr/bin");
  EXPECT_EQ(env_value(inv, "HOME"), "/root");
  EXPECT_EQ(env_value(inv, "SERF_USER_EVENT"), "<unset>");
}

TEST(Invocation, UserEventPayloadGetsANewline) {
  auto self = test::make_member("self", {127, 0, 0, 1}, 7946);
  auto inv =
      make_invocation(test::user_event("kong", "{\"type\":\"ENTITY_UPDATED\"}", 42), self, {});
  EXPECT_EQ(inv.input, "{\"type\":\"ENTITY_UPDATED\"}\n");
  EXPECT_EQ(env_value(inv, "SERF_EVENT"), "user");
  EXPECT_EQ(env_value(inv, "SERF_USER_EVENT"), "kong");
  EXPECT_EQ(env_value(inv, "SERF_USER_LTIME"), "42");
  EXPECT_EQ(env_value(inv, "SERF_SELF_ROLE"), "");
  // Already newline-terminated and empty payloads are left alone.
  EXPECT_EQ(make_invocation(test::user_event("x", "a\n"), self, {}).input, "a\n");
  EXPECT_EQ(make_invocation(test::user_event("x", ""), self, {}).input, "");
}

TEST(Invocation, QueryEnvironment) {
  auto q = std::make_shared<serf::Query>(std::weak_ptr<serf::QueryResponder>());
  q->name = "uptime";
  q->ltime = 9;
  q->payload = {'p'};
  auto inv = make_invocation(q, test::make_member("self", {127, 0, 0, 1}, 1), {});
  EXPECT_EQ(env_value(inv, "SERF_EVENT"), "query");
  EXPECT_EQ(env_value(inv, "SERF_QUERY_NAME"), "uptime");
  EXPECT_EQ(env_value(inv, "SERF_QUERY_LTIME"), "9");
  EXPECT_EQ(inv.input, "p\n");
}

TEST(Invocation, TagNamesSanitised) {
  EXPECT_EQ(tag_env_name("role"), "ROLE");
  EXPECT_EQ(tag_env_name("topology.kubernetes.io/zone"), "TOPOLOGY_KUBERNETES_IO_ZONE");
  EXPECT_EQ(tag_env_name("a b-c_9"), "A_B_C_9");
}

TEST(Invocation, Ipv6MemberAddressHasNoPort) {
  std::vector<uint8_t> v6(16, 0);
  v6[15] = 1;
  serf::MemberEvent e{serf::EventType::MemberFailed, {test::make_member("n", v6, 7946)}};
  EXPECT_EQ(member_event_input(e), "n\t::1\t\t\n");
}

TEST(Invocation, HandlerEnvironmentKeepsBasicsAndNamedVariablesOnly) {
  std::vector<std::string> env = {"PATH=/usr/bin",
                                  "HOME=/home/kong",
                                  "LC_ALL=C.UTF-8",
                                  "KONG_CLUSTER_RPC_AUTH=t",
                                  "KONG_CLUSTER_ENCRYPT_KEY=k",
                                  "KONG_PG_PASSWORD=p",
                                  "POD_NAME=kong-1",
                                  "APP_MODE=x",
                                  "APP_REGION=y",
                                  "APPX=z",
                                  "PATHX=no"};
  auto out = kc::events::handler_environment(env, {"POD_NAME", "APP_*"});
  EXPECT_EQ(out, (std::vector<std::string>{"PATH=/usr/bin", "HOME=/home/kong", "LC_ALL=C.UTF-8",
                                           "POD_NAME=kong-1", "APP_MODE=x", "APP_REGION=y"}));
}

// The `serf` entry point's flag grammar: Go's `flag` package rules, checked case by case
// (the spellings Kong 0.9/0.10 and serf scripts use, and the errors Go prints).
#include "agent/serf_cli/go_flags.h"

#include <gtest/gtest.h>

namespace kc::test {
namespace {

using kc::serf_cli::FlagSet;
using Args = std::vector<std::string>;

struct Members {
  FlagSet flags;
  std::string format = "text", rpc_addr = "127.0.0.1:7373", status;
  bool detailed = false;
  std::vector<std::string> tags;
  int relay = 0;
  Members() {
    flags.string("format", format);
    flags.string("rpc-addr", rpc_addr);
    flags.string("status", status);
    flags.boolean("detailed", detailed);
    flags.list("tag", tags);
    flags.integer("relay-factor", relay);
  }
};

TEST(GoFlags, EverySpellingOfAValue) {
  for (const Args& args : {Args{"-format", "json"}, Args{"-format=json"}, Args{"--format=json"},
                           Args{"--format", "json"}}) {
    Members m;
    ASSERT_FALSE(m.flags.parse(args)) << args[0];
    EXPECT_EQ(m.format, "json") << args[0];
  }
}

TEST(GoFlags, KongsMembersLine) {
  // `serf members -rpc-addr=127.0.0.1:7373 -format 'json'` after sh removed the quotes.
  Members m;
  ASSERT_FALSE(m.flags.parse({"-rpc-addr=127.0.0.1:7373", "-format", "json"}));
  EXPECT_EQ(m.rpc_addr, "127.0.0.1:7373");
  EXPECT_EQ(m.format, "json");
  EXPECT_TRUE(m.flags.args().empty());
}

TEST(GoFlags, BooleanForms) {
  Members m;
  ASSERT_FALSE(m.flags.parse({"-detailed"}));
  EXPECT_TRUE(m.detailed);
  for (const char* falsy : {"false", "0", "f", "F", "FALSE", "False"}) {
    Members n;
    n.detailed = true;
    ASSERT_FALSE(n.flags.parse({std::string("-detailed=") + falsy}));
    EXPECT_FALSE(n.detailed) << falsy;
  }
  // A boolean never takes the next argument: "false" is the first positional argument.
  Members k;
  ASSERT_FALSE(k.flags.parse({"-detailed", "false", "-format=json"}));
  EXPECT_TRUE(k.detailed);
  EXPECT_EQ(k.flags.args(), (Args{"false", "-format=json"}));
  EXPECT_EQ(k.format, "text");
}

TEST(GoFlags, FlagsStopAtTheFirstArgument) {
  Members m;
  ASSERT_FALSE(m.flags.parse({"-status", "alive", "kong", "-format=json", "payload"}));
  EXPECT_EQ(m.status, "alive");
  EXPECT_EQ(m.format, "text");
  EXPECT_EQ(m.flags.args(), (Args{"kong", "-format=json", "payload"}));
}

TEST(GoFlags, DoubleDashEndsFlagsAndIsConsumed) {
  Members m;
  ASSERT_FALSE(m.flags.parse({"-detailed", "--", "-format=json"}));
  EXPECT_EQ(m.flags.args(), (Args{"-format=json"}));
  Members lone;
  ASSERT_FALSE(lone.flags.parse({"-", "-detailed"}));
  EXPECT_FALSE(lone.detailed);
  EXPECT_EQ(lone.flags.args(), (Args{"-", "-detailed"}));
}

TEST(GoFlags, ValueMayStartWithADash) {
  Members m;
  ASSERT_FALSE(m.flags.parse({"-status", "-detailed"}));
  EXPECT_EQ(m.status, "-detailed");
  EXPECT_FALSE(m.detailed);
}

TEST(GoFlags, EmptyAndEqualsInValues) {
  Members m;
  ASSERT_FALSE(m.flags.parse({"-status=", "-tag", "role=kong=1"}));
  EXPECT_EQ(m.status, "");
  EXPECT_TRUE(m.flags.was_set("status"));
  EXPECT_EQ(m.tags, (Args{"role=kong=1"}));
}

TEST(GoFlags, ListsAppendAndScalarsKeepTheLast) {
  Members m;
  ASSERT_FALSE(m.flags.parse({"-tag", "a=1", "-format=json", "--tag=b=2", "-format", "text"}));
  EXPECT_EQ(m.tags, (Args{"a=1", "b=2"}));
  EXPECT_EQ(m.format, "text");
  EXPECT_EQ(m.flags.seen(), (Args{"tag", "format", "tag", "format"}));
}

TEST(GoFlags, Integers) {
  Members m;
  ASSERT_FALSE(m.flags.parse({"-relay-factor=0x10"}));
  EXPECT_EQ(m.relay, 16);
  ASSERT_FALSE(m.flags.parse({"-relay-factor", "-3"}));
  EXPECT_EQ(m.relay, -3);
  EXPECT_EQ(m.flags.parse({"-relay-factor=x"}).value_or(""),
            "invalid value \"x\" for flag -relay-factor: parse error");
  EXPECT_EQ(m.flags.parse({"-relay-factor=99999999999"}).value_or(""),
            "invalid value \"99999999999\" for flag -relay-factor: parse error");
}

TEST(GoFlags, GoErrorTexts) {
  Members m;
  EXPECT_EQ(m.flags.parse({"-bogus"}).value_or(""), "flag provided but not defined: -bogus");
  EXPECT_EQ(m.flags.parse({"--bogus=1"}).value_or(""), "flag provided but not defined: -bogus");
  EXPECT_EQ(m.flags.parse({"-format"}).value_or(""), "flag needs an argument: -format");
  EXPECT_EQ(m.flags.parse({"---format=json"}).value_or(""), "bad flag syntax: ---format=json");
  EXPECT_EQ(m.flags.parse({"-=json"}).value_or(""), "bad flag syntax: -=json");
  EXPECT_EQ(m.flags.parse({"-detailed=maybe"}).value_or(""),
            "invalid boolean value \"maybe\" for -detailed: parse error");
  EXPECT_EQ(m.flags.parse({"-h"}).value_or(""), "help");
  EXPECT_EQ(m.flags.parse({"--help"}).value_or(""), "help");
}

TEST(GoFlags, KongsAgentLineInAnyOrder) {
  // Kong builds the agent line from a Lua table, so the order varies between runs.
  Args kong = {"-profile",
               "wan",
               "-node",
               "h_0.0.0.0:7946_0a1b",
               "-bind",
               "0.0.0.0:7946",
               "-log-level",
               "err",
               "-rpc-addr",
               "127.0.0.1:7373",
               "-event-handler",
               "member-join,member-leave,member-failed,member-update,member-reap,user:kong=/p/serf/"
               "serf_event.sh"};
  Args reversed;
  for (size_t i = kong.size(); i >= 2; i -= 2) {
    reversed.push_back(kong[i - 2]);
    reversed.push_back(kong[i - 1]);
  }
  for (const auto& args : {kong, reversed}) {
    FlagSet f;
    std::string profile, node, bind, level, rpc;
    std::vector<std::string> handlers;
    f.string("profile", profile);
    f.string("node", node);
    f.string("bind", bind);
    f.string("log-level", level);
    f.string("rpc-addr", rpc);
    f.list("event-handler", handlers);
    ASSERT_FALSE(f.parse(args));
    EXPECT_EQ(profile, "wan");
    EXPECT_EQ(node, "h_0.0.0.0:7946_0a1b");
    EXPECT_EQ(bind, "0.0.0.0:7946");
    EXPECT_EQ(level, "err");
    EXPECT_EQ(rpc, "127.0.0.1:7373");
    ASSERT_EQ(handlers.size(), 1u);
    EXPECT_EQ(handlers[0].substr(handlers[0].size() - 13), "serf_event.sh");
    EXPECT_TRUE(f.args().empty());
  }
}

TEST(GoFlags, ParseBool) {
  EXPECT_EQ(kc::serf_cli::parse_go_bool("T"), true);
  EXPECT_EQ(kc::serf_cli::parse_go_bool("1"), true);
  EXPECT_EQ(kc::serf_cli::parse_go_bool("0"), false);
  EXPECT_EQ(kc::serf_cli::parse_go_bool("yes"), std::nullopt);
  EXPECT_EQ(kc::serf_cli::parse_go_bool("tRuE"), std::nullopt);
}

}  // namespace
}  // namespace kc::test

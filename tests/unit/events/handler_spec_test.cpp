// serf's -event-handler syntax, and Kong's handler list surviving the config layer's split
// at commas.
#include "agent/events/handler_spec.h"

#include <gtest/gtest.h>

#include "events_test_util.h"

using namespace kc;
using namespace kc::events;

TEST(HandlerSpec, ParsesSerfForms) {
  HandlerSpec s;
  ASSERT_EQ(parse_handler("handler.sh", s), "");
  EXPECT_EQ(s.command, "handler.sh");
  ASSERT_EQ(s.filters.size(), 1u);
  EXPECT_EQ(s.filters[0].event, "*");

  ASSERT_EQ(parse_handler("member-join,member-leave=/bin/x --flag=1", s), "");
  EXPECT_EQ(s.command, "/bin/x --flag=1");  // only the first '=' splits, as in serf
  EXPECT_EQ(s.filters.size(), 2u);

  ASSERT_EQ(parse_handler("user:kong,query:ping=run", s), "");
  EXPECT_EQ(s.filters[0].event, "user");
  EXPECT_EQ(s.filters[0].name, "kong");
  EXPECT_EQ(s.filters[1].event, "query");
  EXPECT_EQ(s.filters[1].name, "ping");
  EXPECT_EQ(s.to_string(), "user:kong,query:ping=run");

  EXPECT_NE(parse_handler("member-jion=x", s).find("invalid event filter 'member-jion'"),
            std::string::npos);
  EXPECT_NE(parse_handler("user=", s).find("no command"), std::string::npos);
}

TEST(HandlerSpec, ListRegroupsKongsHandler) {
  // What config::split_list makes of Kong's -event-handler value.
  std::vector<std::string> items = {"member-join",   "member-leave", "member-failed",
                                    "member-update", "member-reap",  "user:kong=/k/serf_event.sh",
                                    "other.sh"};
  std::vector<HandlerSpec> specs;
  ASSERT_EQ(parse_handler_list(items, specs), "");
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].command, "/k/serf_event.sh");
  EXPECT_EQ(specs[0].filters.size(), 6u);
  EXPECT_EQ(specs[1].command, "other.sh");
  EXPECT_EQ(specs[1].filters[0].event, "*");

  EXPECT_NE(parse_handler_list({"member-join", "member-leave"}, specs).find("no =command"),
            std::string::npos);
  EXPECT_NE(parse_handler_list({"member-join", "script.sh"}, specs).find("not filter=command"),
            std::string::npos);
  EXPECT_NE(parse_handler_list({"bogus=x"}, specs).find("invalid event filter"), std::string::npos);
  ASSERT_EQ(parse_handler_list({}, specs), "");
  EXPECT_TRUE(specs.empty());
}

TEST(HandlerSpec, MatchesLikeSerf) {
  HandlerSpec s;
  ASSERT_EQ(parse_handler("member-join,user:kong=x", s), "");
  serf::MemberEvent join{serf::EventType::MemberJoin, {}};
  serf::MemberEvent leave{serf::EventType::MemberLeave, {}};
  EXPECT_TRUE(s.matches(join));
  EXPECT_FALSE(s.matches(leave));
  EXPECT_TRUE(s.matches(test::user_event("kong", "{}")));
  EXPECT_FALSE(s.matches(test::user_event("other", "{}")));

  ASSERT_EQ(parse_handler("user=x", s), "");
  EXPECT_TRUE(s.matches(test::user_event("anything", "")));
  EXPECT_FALSE(s.matches(join));

  ASSERT_EQ(parse_handler("query:ping=x", s), "");
  auto q = std::make_shared<serf::Query>(std::weak_ptr<serf::QueryResponder>());
  q->name = "ping";
  EXPECT_TRUE(s.matches(q));
  q->name = "pong";
  EXPECT_FALSE(s.matches(q));

  ASSERT_EQ(parse_handler("*=x", s), "");
  EXPECT_TRUE(s.matches(leave));
  EXPECT_TRUE(s.matches(q));
}

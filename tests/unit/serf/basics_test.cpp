// Small pieces: Lamport clocks, tag meta, the de-duplication rings, filters and regexes,
// the query collector and coalescing.
#include <gtest/gtest.h>

#include "agent/gossip/sim/sim_runtime.h"
#include "agent/serf/coalesce.h"
#include "agent/serf/event_buffer.h"
#include "agent/serf/lamport.h"
#include "agent/serf/query.h"
#include "agent/serf/tags.h"

namespace kc::serf {
namespace {

Bytes str(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

TEST(Lamport, IncrementAndWitness) {
  LamportClock c;
  EXPECT_EQ(c.time(), 0u);
  EXPECT_EQ(c.increment(), 1u);
  c.witness(41);
  EXPECT_EQ(c.time(), 42u);
  c.witness(30);  // older: nothing
  EXPECT_EQ(c.time(), 42u);
  c.witness(42);  // equal: one past
  EXPECT_EQ(c.time(), 43u);
}

TEST(Tags, RoundTrip) {
  Tags t{{"role", "web"}, {"dc", "one"}};
  EXPECT_EQ(decode_tags(encode_tags(t)), t);
  EXPECT_EQ(decode_tags(encode_tags({})), Tags{});
}

TEST(Tags, OldStyleMetaIsARole) {
  EXPECT_EQ(decode_tags(str("web")), (Tags{{"role", "web"}}));
  // An empty meta shows up as role="" (Go does the same).
  EXPECT_EQ(decode_tags(Bytes{}), (Tags{{"role", ""}}));
}

TEST(Tags, MalformedKeepsWhatDecodedAndReportsError) {
  std::string err;
  auto t = decode_tags(Bytes{0xff, 0x82, 0xa1, 'a', 0xa1, 'b', 0xa1, 'c', 0x05}, &err);
  EXPECT_FALSE(err.empty());
  EXPECT_EQ(t.at("a"), "b");
  err.clear();
  decode_tags(Bytes{0xff, 0x81}, &err);
  EXPECT_FALSE(err.empty());
}

TEST(EventBuffer, DedupesByLTimeNameAndPayload) {
  EventBuffer b(4);
  EXPECT_TRUE(b.insert(1, "deploy", str("v1")));
  EXPECT_FALSE(b.insert(1, "deploy", str("v1")));
  EXPECT_TRUE(b.insert(1, "deploy", str("v2")));
  EXPECT_TRUE(b.insert(1, "other", str("v1")));
  EXPECT_TRUE(b.insert(2, "deploy", str("v1")));
  // LTime 5 reuses slot 1; after it, LTime 1 is no longer remembered.
  EXPECT_TRUE(b.insert(5, "deploy", str("v1")));
  ASSERT_TRUE(b.slots()[1].has_value());
  EXPECT_EQ(b.slots()[1]->ltime, 5u);
  EXPECT_TRUE(b.insert(1, "deploy", str("v1")));
}

TEST(QueryBuffer, DedupesById) {
  QueryBuffer b(8);
  EXPECT_TRUE(b.insert(3, 100));
  EXPECT_FALSE(b.insert(3, 100));
  EXPECT_TRUE(b.insert(3, 101));
  EXPECT_TRUE(b.insert(11, 100));  // same slot, newer LTime
  EXPECT_TRUE(b.insert(3, 100));
}

TEST(EventBuffer, TooOld) {
  EXPECT_FALSE(too_old(1, 512, 512));
  EXPECT_FALSE(too_old(1, 513, 512));
  EXPECT_TRUE(too_old(1, 514, 512));
  EXPECT_FALSE(too_old(2, 514, 512));
}

TEST(Filters, NodeAndTag) {
  Tags tags{{"role", "web-1"}, {"dc", "east"}};
  QueryParam p;
  EXPECT_TRUE(should_process_query(p.encode_filters(), "a", tags));
  p.filter_nodes = {"b", "a"};
  EXPECT_TRUE(should_process_query(p.encode_filters(), "a", tags));
  EXPECT_FALSE(should_process_query(p.encode_filters(), "c", tags));
  p.filter_nodes.clear();
  p.filter_tags = {{"role", "web"}};  // unanchored, as Go's MatchString
  EXPECT_TRUE(should_process_query(p.encode_filters(), "a", tags));
  p.filter_tags = {{"role", "^web$"}};
  EXPECT_FALSE(should_process_query(p.encode_filters(), "a", tags));
  p.filter_tags = {{"role", "^web-[0-9]+$"}, {"dc", "east|west"}};
  EXPECT_TRUE(should_process_query(p.encode_filters(), "a", tags));
  p.filter_tags = {{"missing", "^$"}};  // a missing tag matches as ""
  EXPECT_TRUE(should_process_query(p.encode_filters(), "a", tags));
  std::string warning;
  p.filter_tags = {{"role", "([a-"}};
  EXPECT_FALSE(should_process_query(p.encode_filters(), "a", tags, &warning));
  EXPECT_NE(warning.find("failed to compile filter regex"), std::string::npos);
  warning.clear();
  EXPECT_FALSE(should_process_query({Bytes{7, 0x90}}, "a", tags, &warning));
  EXPECT_EQ(warning, "query has unrecognized filter type: 7");
  EXPECT_FALSE(should_process_query({Bytes{0, 0x05}}, "a", tags, &warning));
  EXPECT_FALSE(should_process_query({Bytes{}}, "a", tags));
}

TEST(QueryResponse, DedupesAndCloses) {
  QueryResponse r(7, 3, gossip::TimePoint(std::chrono::seconds(10)), true);
  std::vector<std::string> acks;
  int done = 0;
  r.on_ack = [&](const std::string& f) { acks.push_back(f); };
  r.on_done = [&] { ++done; };
  EXPECT_TRUE(r.add_ack("a"));
  EXPECT_FALSE(r.add_ack("a"));
  EXPECT_TRUE(r.add_response({"a", str("x")}));
  EXPECT_FALSE(r.add_response({"a", str("y")}));
  EXPECT_EQ(acks, std::vector<std::string>{"a"});
  EXPECT_FALSE(r.finished(gossip::TimePoint(std::chrono::seconds(10))));
  EXPECT_TRUE(r.finished(gossip::TimePoint(std::chrono::seconds(11))));
  r.close();
  r.close();
  EXPECT_EQ(done, 1);
  EXPECT_FALSE(r.add_ack("b"));
  QueryResponse no_ack(1, 1, {}, false);
  EXPECT_FALSE(no_ack.add_ack("a"));
}

TEST(KRandomMembers, DistinctAndFiltered) {
  std::vector<Member> ms;
  for (int i = 0; i < 10; ++i) {
    Member m;
    m.name = "n" + std::to_string(i);
    m.status = i % 2 ? MemberStatus::Alive : MemberStatus::Failed;
    ms.push_back(m);
  }
  std::mt19937_64 rng(1);
  auto out = k_random_members(
      3, ms, [](const Member& m) { return m.status != MemberStatus::Alive; }, rng);
  ASSERT_EQ(out.size(), 3u);
  std::set<std::string> names;
  for (auto& m : out) {
    EXPECT_EQ(m.status, MemberStatus::Alive);
    names.insert(m.name);
  }
  EXPECT_EQ(names.size(), 3u);
  EXPECT_TRUE(k_random_members(2, {}, nullptr, rng).empty());
}

Member mem(const std::string& name) {
  Member m;
  m.name = name;
  return m;
}

TEST(Coalesce, MemberEventsKeepLatestAndSkipRepeats) {
  gossip::sim::SimClock clock;
  std::vector<Event> out;
  MemberEventCoalescer c(clock, std::chrono::seconds(3), std::chrono::seconds(1),
                         [&](Event e) { out.push_back(std::move(e)); });
  EXPECT_FALSE(c.offer(UserEvent{1, "x", {}, true}));
  EXPECT_TRUE(c.offer(MemberEvent{EventType::MemberJoin, {mem("a")}}));
  EXPECT_TRUE(c.offer(MemberEvent{EventType::MemberFailed, {mem("a")}}));
  EXPECT_TRUE(c.offer(MemberEvent{EventType::MemberJoin, {mem("b")}}));
  clock.run_for(std::chrono::milliseconds(900));
  EXPECT_TRUE(out.empty());
  clock.run_for(std::chrono::milliseconds(200));  // quiescent period passed
  ASSERT_EQ(out.size(), 2u);
  auto& join = std::get<MemberEvent>(out[0]);
  EXPECT_EQ(join.type, EventType::MemberJoin);
  EXPECT_EQ(join.members.size(), 1u);
  EXPECT_EQ(join.members[0].name, "b");
  EXPECT_EQ(std::get<MemberEvent>(out[1]).type, EventType::MemberFailed);
  // Same event again for b: nothing new to say.
  out.clear();
  c.offer(MemberEvent{EventType::MemberJoin, {mem("b")}});
  clock.run_for(std::chrono::seconds(2));
  EXPECT_TRUE(out.empty());
  // Updates always go out.
  c.offer(MemberEvent{EventType::MemberUpdate, {mem("b")}});
  clock.run_for(std::chrono::seconds(2));
  c.offer(MemberEvent{EventType::MemberUpdate, {mem("b")}});
  clock.run_for(std::chrono::seconds(2));
  EXPECT_EQ(out.size(), 2u);
}

TEST(Coalesce, AFailureHealedWithinTheWindowReachesNoHandler) {
  // As in Serf: handlers see the member's last state against the last one they were told;
  // failed-then-alive inside one window is alive-then-alive, nothing to say.
  gossip::sim::SimClock clock;
  std::vector<Event> out;
  MemberEventCoalescer c(clock, std::chrono::seconds(3), std::chrono::seconds(1),
                         [&](Event e) { out.push_back(std::move(e)); });
  c.offer(MemberEvent{EventType::MemberJoin, {mem("a")}});
  clock.run_for(std::chrono::seconds(2));
  ASSERT_EQ(out.size(), 1u);
  out.clear();
  c.offer(MemberEvent{EventType::MemberFailed, {mem("a")}});
  clock.run_for(std::chrono::milliseconds(500));
  c.offer(MemberEvent{EventType::MemberJoin, {mem("a")}});
  clock.run_for(std::chrono::seconds(4));
  EXPECT_TRUE(out.empty());
  // Once the failure was told, the return is.
  c.offer(MemberEvent{EventType::MemberFailed, {mem("a")}});
  clock.run_for(std::chrono::seconds(2));
  c.offer(MemberEvent{EventType::MemberJoin, {mem("a")}});
  clock.run_for(std::chrono::seconds(2));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<MemberEvent>(out[0]).type, EventType::MemberFailed);
  EXPECT_EQ(std::get<MemberEvent>(out[1]).type, EventType::MemberJoin);
}

TEST(Coalesce, QuantumBoundsTheWait) {
  gossip::sim::SimClock clock;
  std::vector<Event> out;
  UserEventCoalescer c(clock, std::chrono::seconds(3), std::chrono::seconds(1),
                       [&](Event e) { out.push_back(std::move(e)); });
  EXPECT_FALSE(c.offer(UserEvent{1, "x", {}, false}));  // CC=false passes through
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(c.offer(UserEvent{static_cast<LamportTime>(10 + i), "deploy", str("v"), true}));
    clock.run_for(std::chrono::milliseconds(700));
  }
  // Never quiet for 1 s, but 3 s after the first the quantum flushed: only the newest
  // LTime seen by then is kept.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<UserEvent>(out[0]).ltime, 14u);
}

TEST(Coalesce, UserEventsKeepAllOfTheNewestLTime) {
  gossip::sim::SimClock clock;
  std::vector<Event> out;
  UserEventCoalescer c(clock, std::chrono::seconds(3), std::chrono::seconds(1),
                       [&](Event e) { out.push_back(std::move(e)); });
  c.offer(UserEvent{5, "deploy", str("a"), true});
  c.offer(UserEvent{6, "deploy", str("b"), true});
  c.offer(UserEvent{6, "deploy", str("c"), true});
  c.offer(UserEvent{4, "deploy", str("old"), true});
  c.offer(UserEvent{1, "other", str("z"), true});
  c.flush();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::get<UserEvent>(out[0]).payload, str("b"));
  EXPECT_EQ(std::get<UserEvent>(out[1]).payload, str("c"));
  EXPECT_EQ(std::get<UserEvent>(out[2]).name, "other");
}

}  // namespace
}  // namespace kc::serf

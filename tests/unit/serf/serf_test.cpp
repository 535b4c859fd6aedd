// Serf's state machine driven through its delegate methods on a scripted memberlist:
// member status and intents, user events, queries, internal queries, leave and force-leave,
// reaping and reconnects, push/pull state and coordinates.
#include "agent/serf/serf.h"

#include <gtest/gtest.h>

#include "agent/serf/internal_query.h"
#include "agent/serf/tags.h"
#include "fake_memberlist.h"
#include "support/vectors.h"

namespace kc::serf {
namespace {

using namespace std::chrono_literals;
using test::Harness;
using test::node;

Bytes str(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// Messages the fake memberlist was asked to send, decoded as query responses.
std::vector<std::pair<gossip::Address, MessageQueryResponse>> responses_sent(
    const test::FakeMemberlist& ml) {
  std::vector<std::pair<gossip::Address, MessageQueryResponse>> out;
  for (auto& s : ml.sent)
    if (!s.msg.empty() && s.msg[0] == static_cast<uint8_t>(MessageType::QueryResponse))
      out.emplace_back(s.to, decode_query_response(std::span<const uint8_t>(s.msg).subspan(1)));
  return out;
}

// Feeds back what we sent to our own address (Go acks its own queries over UDP).
void loopback(Harness& h) {
  auto sent = std::move(h.ml->sent);
  h.ml->sent.clear();
  for (auto& s : sent)
    if (s.to == h.ml->local_.addr) h.serf->notify_msg(s.msg);
  h.settle();
}

// Drains the gossip queues as memberlist would, until nothing is left.
std::vector<Bytes> drain_broadcasts(Harness& h) {
  std::vector<Bytes> all;
  for (int i = 0; i < 100; ++i) {
    auto got = h.serf->get_broadcasts(3, 1400);
    if (got.empty()) break;
    all.insert(all.end(), got.begin(), got.end());
  }
  h.settle();
  return all;
}

TEST(Serf, StartsAliveWithClocksAtOne) {
  Harness h;
  EXPECT_EQ(h.status("self"), MemberStatus::Alive);
  EXPECT_EQ(h.serf->member_clock(), 1u);
  EXPECT_EQ(h.serf->event_clock(), 1u);
  EXPECT_EQ(h.serf->query_clock(), 1u);
  ASSERT_EQ(h.member_events(EventType::MemberJoin).size(), 1u);
  auto self = h.serf->local_member();
  EXPECT_EQ(self.delegate_cur, 5);
  EXPECT_EQ(self.protocol_cur, 2);
  EXPECT_EQ(h.ml->config_.vsn, (gossip::Vsn{1, 5, 2, 2, 5, 5}));
  EXPECT_EQ(h.ml->config_.name, "self");
}

TEST(Serf, BadConfigIsRefusedWithSerfsMessage) {
  Config c;
  c.node_name = "x";
  c.protocol_version = 6;
  EXPECT_EQ(c.validate(), "Protocol version '6' too high. Must be in range: [2, 5]");
  c.protocol_version = 1;
  EXPECT_EQ(c.validate(), "Protocol version '1' too low. Must be in range: [2, 5]");
  c.protocol_version = 5;
  c.user_event_size_limit = 10000;
  EXPECT_EQ(c.validate(), "user event size limit exceeds limit of 9216 bytes");
  c.user_event_size_limit = 512;
  c.tags["big"] = std::string(600, 'x');
  EXPECT_EQ(c.validate(), "Encoded length of tags exceeds limit of 512 bytes");
  EXPECT_THROW(Harness h(c), std::invalid_argument);
}

TEST(Serf, AliveThenFailedThenBack) {
  Harness h;
  h.serf->notify_join(node("b", 2, {{"role", "web"}}));
  h.settle();
  EXPECT_EQ(h.status("b"), MemberStatus::Alive);
  EXPECT_EQ(h.serf->member("b")->tags.at("role"), "web");
  h.serf->notify_leave(node("b", 2));
  h.settle();
  EXPECT_EQ(h.status("b"), MemberStatus::Failed);
  ASSERT_EQ(h.member_events(EventType::MemberFailed).size(), 1u);
  EXPECT_EQ(h.serf->stats().at("failed"), "1");
  h.serf->notify_join(node("b", 2));
  h.settle();
  EXPECT_EQ(h.status("b"), MemberStatus::Alive);
  EXPECT_EQ(h.serf->stats().at("failed"), "0");
  EXPECT_EQ(h.member_events(EventType::MemberJoin).size(), 3u);
  // Leave for an unknown node, and a second leave for a failed one: ignored.
  h.serf->notify_leave(node("zz", 9));
  h.serf->notify_leave(node("b", 2));
  h.serf->notify_leave(node("b", 2));
  h.settle();
  EXPECT_EQ(h.member_events(EventType::MemberFailed).size(), 2u);
}

TEST(Serf, UpdateChangesTags) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.serf->notify_update(node("b", 2, {{"role", "db"}}));
  h.settle();
  EXPECT_EQ(h.serf->member("b")->tags.at("role"), "db");
  ASSERT_EQ(h.member_events(EventType::MemberUpdate).size(), 1u);
}

TEST(Serf, LeaveIntentThenMemberlistLeaveEndsLeft) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.receive(encode(MessageLeave{10, "b", false}));
  EXPECT_EQ(h.status("b"), MemberStatus::Leaving);
  EXPECT_EQ(h.serf->member_clock(), 11u);       // witnessed
  EXPECT_EQ(h.serf->intent_queue_depth(), 1u);  // rebroadcast
  h.serf->notify_leave(node("b", 2));
  h.settle();
  EXPECT_EQ(h.status("b"), MemberStatus::Left);
  ASSERT_EQ(h.member_events(EventType::MemberLeave).size(), 1u);
  EXPECT_EQ(h.serf->stats().at("left"), "1");
  // The same intent again is old news: no rebroadcast.
  h.receive(encode(MessageLeave{10, "b", false}));
  EXPECT_EQ(h.serf->intent_queue_depth(), 1u);
}

TEST(Serf, RebroadcastIsTheExactReceivedBytes) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  auto msg = encode(MessageLeave{10, "b", false});
  h.receive(msg);
  auto out = drain_broadcasts(h);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0], msg);
}

TEST(Serf, JoinIntentBringsLeavingBack) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.receive(encode(MessageLeave{10, "b", false}));
  h.receive(encode(MessageJoin{9, "b"}));  // older: ignored
  EXPECT_EQ(h.status("b"), MemberStatus::Leaving);
  h.receive(encode(MessageJoin{11, "b"}));
  EXPECT_EQ(h.status("b"), MemberStatus::Alive);
}

TEST(Serf, IntentBeforeMemberlistJoinIsBuffered) {
  Harness h;
  h.receive(encode(MessageLeave{7, "c", false}));
  EXPECT_EQ(h.serf->intent_queue_depth(), 1u);
  h.receive(encode(MessageLeave{6, "c", false}));  // older than buffered: not rebroadcast
  EXPECT_EQ(h.serf->intent_queue_depth(), 1u);
  h.serf->notify_join(node("c", 3));
  h.settle();
  EXPECT_EQ(h.status("c"), MemberStatus::Leaving);
  // A join intent buffered for d sets its status time, so an older leave is ignored.
  h.receive(encode(MessageJoin{20, "d"}));
  h.serf->notify_join(node("d", 4));
  h.receive(encode(MessageLeave{15, "d", false}));
  EXPECT_EQ(h.status("d"), MemberStatus::Alive);
}

TEST(Serf, RecentIntentsExpire) {
  Config c;
  c.reap_interval = 1s;
  c.recent_intent_timeout = 3s;
  Harness h(c);
  h.receive(encode(MessageLeave{7, "c", false}));
  h.clock.run_for(5s);
  h.serf->notify_join(node("c", 3));
  h.settle();
  EXPECT_EQ(h.status("c"), MemberStatus::Alive);
}

TEST(Serf, RefutesLeaveIntentAboutItself) {
  Harness h;
  drain_broadcasts(h);
  h.receive(encode(MessageLeave{10, "self", false}));
  EXPECT_EQ(h.status("self"), MemberStatus::Alive);
  auto out = drain_broadcasts(h);
  ASSERT_FALSE(out.empty());
  ASSERT_EQ(out[0][0], static_cast<uint8_t>(MessageType::Join));
  auto j = decode_join(std::span<const uint8_t>(out[0]).subspan(1));
  EXPECT_EQ(j.node, "self");
  EXPECT_GT(j.ltime, 10u);
}

TEST(Serf, ForceLeaveFailedMemberGivesLeft) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.serf->notify_join(node("c", 3));
  h.serf->notify_leave(node("b", 2));
  h.settle();
  std::string result = "pending";
  h.serf->force_leave("b", false, [&](const std::string& e) { result = e; });
  h.settle();
  EXPECT_EQ(h.status("b"), MemberStatus::Left);
  ASSERT_EQ(h.member_events(EventType::MemberLeave).size(), 1u);
  EXPECT_EQ(result, "pending");  // waits for the broadcast (c is alive)
  drain_broadcasts(h);
  EXPECT_EQ(result, "");
}

TEST(Serf, ForceLeaveTimesOutWithoutGossip) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.serf->notify_join(node("c", 3));
  h.serf->notify_leave(node("b", 2));
  std::string result = "pending";
  h.serf->force_leave("b", false, [&](const std::string& e) { result = e; });
  h.clock.run_for(6s);
  EXPECT_EQ(result, "timed out broadcasting node removal");
}

TEST(Serf, ForceLeavePruneErasesMember) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.serf->notify_leave(node("b", 2));
  std::string result = "pending";
  h.serf->force_leave("b", true, [&](const std::string& e) { result = e; });
  h.settle();
  EXPECT_EQ(result, "");  // nobody else alive: nothing to wait for
  EXPECT_FALSE(h.serf->member("b").has_value());
  ASSERT_EQ(h.member_events(EventType::MemberReap).size(), 1u);
  EXPECT_EQ(h.serf->stats().at("left"), "0");
}

TEST(Serf, PruneOfLeavingMemberWaitsForItsLeave) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.receive(encode(MessageLeave{10, "b", true}));
  EXPECT_EQ(h.status("b"), MemberStatus::Leaving);
  h.clock.run_for(5s);
  EXPECT_TRUE(h.serf->member("b").has_value());
  h.clock.run_for(2s);  // broadcast timeout + propagate delay
  EXPECT_FALSE(h.serf->member("b").has_value());
}

TEST(Serf, ReapsFailedAndLeftAfterTimeouts) {
  Config c;
  c.reap_interval = 1s;
  c.reconnect_timeout = 10s;
  c.tombstone_timeout = 20s;
  c.reconnect_interval = 1h;
  Harness h(c);
  h.serf->notify_join(node("b", 2));
  h.serf->notify_join(node("c", 3));
  h.serf->notify_leave(node("b", 2));
  h.receive(encode(MessageLeave{10, "c", false}));
  h.serf->notify_leave(node("c", 3));
  h.settle();
  EXPECT_EQ(h.status("c"), MemberStatus::Left);
  h.clock.run_for(12s);
  EXPECT_FALSE(h.serf->member("b").has_value());
  EXPECT_TRUE(h.serf->member("c").has_value());
  h.clock.run_for(10s);
  EXPECT_FALSE(h.serf->member("c").has_value());
  EXPECT_EQ(h.member_events(EventType::MemberReap).size(), 2u);
}

TEST(Serf, ReconnectsToFailedMembers) {
  Config c;
  c.reconnect_interval = 2s;
  Harness h(c);
  h.serf->notify_join(node("b", 2));
  h.serf->notify_leave(node("b", 2));
  h.clock.run_for(3s);
  // One failed, one alive (ourselves): probability 1.
  ASSERT_FALSE(h.ml->joins.empty());
  EXPECT_EQ(h.ml->joins[0], std::vector<std::string>{"b/10.0.0.2:7946"});
}

TEST(Serf, UserEventsDeliveredOnceAndRebroadcast) {
  Harness h;
  EXPECT_EQ(h.serf->user_event("deploy", str("v1"), false), "");
  h.settle();
  ASSERT_EQ(h.user_events().size(), 1u);
  EXPECT_EQ(h.user_events()[0].ltime, 1u);
  EXPECT_EQ(h.serf->event_clock(), 2u);
  EXPECT_EQ(h.serf->event_queue_depth(), 1u);
  // Our own event coming back: duplicate.
  h.receive(encode(MessageUserEvent{1, "deploy", str("v1"), false}));
  EXPECT_EQ(h.user_events().size(), 1u);
  EXPECT_EQ(h.serf->event_queue_depth(), 1u);
  // Someone else's, newer: delivered, witnessed, rebroadcast.
  h.receive(encode(MessageUserEvent{7, "purge", str("x"), true}));
  ASSERT_EQ(h.user_events().size(), 2u);
  EXPECT_TRUE(h.user_events()[1].coalesce);
  EXPECT_EQ(h.serf->event_clock(), 8u);
  EXPECT_EQ(h.serf->event_queue_depth(), 2u);
}

TEST(Serf, UserEventSizeLimits) {
  Harness h;
  EXPECT_EQ(h.serf->user_event("e", Bytes(600, 'x'), false),
            "user event exceeds configured limit of 512 bytes before encoding");
  EXPECT_EQ(h.serf->user_event("e", Bytes(500, 'x'), false),
            "encoded user event exceeds configured limit of 512 bytes after encoding");
  EXPECT_EQ(h.serf->event_clock(), 1u);
  EXPECT_EQ(h.serf->user_event("e", Bytes(450, 'x'), false), "");
}

TEST(Serf, OldEventsDropped) {
  Harness h;
  h.receive(encode(MessageUserEvent{1000, "a", {}, false}));
  ASSERT_EQ(h.user_events().size(), 1u);
  h.receive(encode(MessageUserEvent{400, "b", {}, false}));  // more than 512 behind
  EXPECT_EQ(h.user_events().size(), 1u);
  h.receive(encode(MessageUserEvent{600, "c", {}, false}));
  EXPECT_EQ(h.user_events().size(), 2u);
}

MessagePushPull remote_state() {
  MessagePushPull pp;
  pp.ltime = 50;
  pp.status_ltimes = {{"b", 20}, {"c", 30}};
  pp.left_members = {"c"};
  pp.event_ltime = 12;
  pp.events.resize(512);
  pp.events[10] = UserEventSlot{10, {{"deploy", str("v9")}}};
  pp.query_ltime = 5;
  return pp;
}

TEST(Serf, MergeRemoteStateWitnessesAndReplays) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.serf->notify_join(node("c", 3));
  h.serf->notify_leave(node("c", 3));  // failed here; the remote says left
  h.serf->merge_remote_state(encode(remote_state()), false);
  h.settle();
  EXPECT_EQ(h.serf->member_clock(), 50u);
  EXPECT_EQ(h.serf->event_clock(), 12u);
  EXPECT_EQ(h.serf->query_clock(), 5u);
  EXPECT_EQ(h.status("c"), MemberStatus::Left);
  ASSERT_EQ(h.user_events().size(), 1u);
  EXPECT_EQ(h.user_events()[0].payload, str("v9"));
  EXPECT_FALSE(h.user_events()[0].coalesce);
  // Bad input is logged and ignored.
  h.serf->merge_remote_state(Bytes{}, false);
  h.serf->merge_remote_state(Bytes{3, 0x80}, false);
  h.serf->merge_remote_state(Bytes{2, 0x05}, false);
}

TEST(Serf, JoinIgnoringOldEventsSkipsReplay) {
  Harness h;
  int joined = -1;
  h.serf->join({"10.0.0.9:7946"}, true, [&](int n, const std::string&) { joined = n; });
  h.serf->merge_remote_state(encode(remote_state()), true);  // during the join
  h.settle();
  EXPECT_EQ(joined, 1);
  EXPECT_TRUE(h.user_events().empty());
  // After the join, the flag is gone: a later merge replays newer events.
  auto pp = remote_state();
  pp.events[13] = UserEventSlot{13, {{"deploy", str("v10")}}};
  h.serf->merge_remote_state(encode(pp), true);
  h.settle();
  ASSERT_EQ(h.user_events().size(), 1u);
  EXPECT_EQ(h.user_events()[0].payload, str("v10"));
}

TEST(Serf, JoinBroadcastsIntentAfterWitnessingClock) {
  Harness h;
  drain_broadcasts(h);
  h.serf->join({"10.0.0.9:7946"}, false, nullptr);
  h.serf->merge_remote_state(encode(remote_state()), true);
  h.settle();
  auto out = drain_broadcasts(h);
  ASSERT_FALSE(out.empty());
  auto j = decode_join(std::span<const uint8_t>(out[0]).subspan(1));
  EXPECT_EQ(j.node, "self");
  EXPECT_GE(j.ltime, 49u);  // at least the cluster's clock: never ignored as stale
  EXPECT_EQ(h.serf->member_clock(), j.ltime + 1);
}

TEST(Serf, JoinFailsAfterLeave) {
  Harness h;
  h.serf->shutdown();
  std::string err;
  h.serf->join({"x:1"}, false, [&](int, const std::string& e) { err = e; });
  EXPECT_EQ(err, "Serf can't Join after Leave or Shutdown");
}

TEST(Serf, LocalStateCarriesStatusesLeftMembersAndEvents) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.receive(encode(MessageLeave{10, "b", false}));
  h.serf->notify_leave(node("b", 2));
  h.serf->user_event("deploy", str("v1"), false);
  auto st = h.serf->local_state(false);
  ASSERT_EQ(st[0], static_cast<uint8_t>(MessageType::PushPull));
  auto pp = decode_push_pull(std::span<const uint8_t>(st).subspan(1));
  EXPECT_EQ(pp.ltime, h.serf->member_clock());
  EXPECT_EQ(pp.status_ltimes.at("b"), 10u);
  EXPECT_EQ(pp.status_ltimes.count("self"), 1u);
  EXPECT_EQ(pp.left_members, std::vector<std::string>{"b"});
  EXPECT_EQ(pp.events.size(), 512u);
  ASSERT_TRUE(pp.events[1].has_value());
  EXPECT_EQ(pp.events[1]->events[0].name, "deploy");
  EXPECT_EQ(pp.event_ltime, 2u);
}

TEST(Serf, GetBroadcastsTakesIntentsThenQueriesThenEvents) {
  Harness h;
  drain_broadcasts(h);
  h.serf->user_event("e", str("1"), false);
  h.serf->query("q", {}, h.serf->default_query_params());
  h.serf->notify_join(node("b", 2));
  h.receive(encode(MessageLeave{10, "b", false}));
  auto got = h.serf->get_broadcasts(3, 1400);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0][0], static_cast<uint8_t>(MessageType::Leave));
  EXPECT_EQ(got[1][0], static_cast<uint8_t>(MessageType::Query));
  EXPECT_EQ(got[2][0], static_cast<uint8_t>(MessageType::UserEvent));
  // A limit that fits only the intent.
  auto small = h.serf->get_broadcasts(3, got[0].size() + 3);
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0][0], static_cast<uint8_t>(MessageType::Leave));
}

TEST(Serf, QueryAcksAndResponsesReachTheOriginator) {
  Harness h;
  QueryParam p = h.serf->default_query_params();
  EXPECT_EQ(p.timeout, 3200ms);  // 200 ms × 16 × ceil(log10(2))
  p.request_ack = true;
  std::string err;
  auto resp = h.serf->query("whoami", str("hi"), p, &err);
  ASSERT_TRUE(resp) << err;
  EXPECT_EQ(h.serf->query_clock(), 2u);  // the local copy was witnessed
  EXPECT_EQ(h.serf->query_queue_depth(), 1u);
  bool done = false;
  resp->on_done = [&] { done = true; };
  h.settle();
  // We processed our own query: an ack went to our own address, and the query to us.
  auto acks = responses_sent(*h.ml);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].first, h.ml->local_.addr);
  EXPECT_TRUE(acks[0].second.ack());
  ASSERT_EQ(h.queries().size(), 1u);
  auto q = h.queries()[0];
  EXPECT_EQ(q->name, "whoami");
  EXPECT_EQ(q->payload, str("hi"));
  loopback(h);
  EXPECT_EQ(resp->acks(), std::vector<std::string>{"self"});
  EXPECT_EQ(q->respond(str("me")), "");
  EXPECT_EQ(q->respond(str("again")), "failed to respond to key query: response already sent");
  loopback(h);
  ASSERT_EQ(resp->responses().size(), 1u);
  EXPECT_EQ(resp->responses()[0].from, "self");
  EXPECT_EQ(resp->responses()[0].payload, str("me"));
  // Someone else answers too; a duplicate is ignored.
  h.receive(encode(MessageQueryResponse{resp->ltime(), resp->id(), "b", 0, str("b!")}));
  h.receive(encode(MessageQueryResponse{resp->ltime(), resp->id(), "b", 0, str("b!")}));
  h.receive(encode(MessageQueryResponse{resp->ltime(), resp->id() + 1, "c", 0, {}}));
  EXPECT_EQ(resp->responses().size(), 2u);
  h.clock.run_for(4s);
  EXPECT_TRUE(done);
  EXPECT_TRUE(resp->closed());
  h.receive(encode(MessageQueryResponse{resp->ltime(), resp->id(), "d", 0, {}}));
  EXPECT_EQ(resp->responses().size(), 2u);
}

TEST(Serf, QueryRespondChecksSizeAndDeadline) {
  Harness h;
  auto resp = h.serf->query("q", {}, h.serf->default_query_params());
  h.settle();
  auto q = h.queries().at(0);
  EXPECT_EQ(q->respond(Bytes(1100, 'x')),
            "failed to respond to key query: response exceeds limit of 1024 bytes");
  h.clock.run_for(4s);
  EXPECT_EQ(q->respond(str("late")),
            "failed to respond to key query: response is past the deadline");
  std::string err;
  EXPECT_FALSE(h.serf->query("q", Bytes(1100, 'x'), {}, &err));
  EXPECT_EQ(err, "query exceeds limit of 1024 bytes");
}

TEST(Serf, ReceivedQueryFiltersAndFlags) {
  Config c;
  c.tags = {{"role", "web"}};
  Harness h(c);
  MessageQuery q;
  q.ltime = 5;
  q.id = 77;
  q.addr = {10, 0, 0, 9};
  q.port = 7000;
  q.source_node = "origin";
  q.flags = kQueryFlagAck;
  q.timeout = 2s;
  q.name = "deploy";
  q.filters = {encode_tag_filter({"role", "^db$"})};
  h.receive(encode(q));
  EXPECT_TRUE(h.queries().empty());
  EXPECT_TRUE(h.ml->sent.empty());             // filtered: no ack
  EXPECT_EQ(h.serf->query_queue_depth(), 1u);  // but still passed on
  q.id = 78;
  q.filters = {encode_tag_filter({"role", "^web$"}), encode_node_filter({"self"})};
  q.flags |= kQueryFlagNoBroadcast;
  h.receive(encode(q));
  EXPECT_EQ(h.serf->query_queue_depth(), 1u);  // NoBroadcast
  ASSERT_EQ(h.queries().size(), 1u);
  auto acks = responses_sent(*h.ml);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].first, (gossip::Address{{10, 0, 0, 9}, 7000}));
  EXPECT_EQ(to_string(EventType::Query), std::string("query"));
  // Duplicate: nothing more.
  h.receive(encode(q));
  EXPECT_EQ(h.queries().size(), 1u);
  EXPECT_EQ(responses_sent(*h.ml).size(), 1u);
}

TEST(Serf, RelaysResponsesThroughOtherMembers) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  h.serf->notify_join(node("c", 3));
  MessageQuery q;
  q.ltime = 5;
  q.id = 1;
  q.addr = {10, 0, 0, 9};
  q.port = 7000;
  q.source_node = "origin";
  q.flags = kQueryFlagAck;
  q.relay_factor = 2;
  q.timeout = 2s;
  q.name = "x";
  h.receive(encode(q));
  int relays = 0;
  for (auto& s : h.ml->sent) {
    if (s.msg[0] != static_cast<uint8_t>(MessageType::Relay)) continue;
    ++relays;
    EXPECT_NE(s.to, h.ml->local_.addr);
    size_t rest = 0;
    auto body = std::span<const uint8_t>(s.msg).subspan(1);
    auto hdr = decode_relay_header(body, rest);
    EXPECT_EQ(hdr.dest_addr, (gossip::Address{{10, 0, 0, 9}, 7000}));
    EXPECT_EQ(hdr.dest_name, "origin");
    EXPECT_EQ(body[rest], static_cast<uint8_t>(MessageType::QueryResponse));
  }
  EXPECT_EQ(relays, 2);
}

TEST(Serf, ForwardsRelayedMessages) {
  Harness h;
  auto inner = encode(MessageQueryResponse{4, 9, "b", 0, str("ok")});
  h.receive(encode_relay({gossip::Address{{10, 0, 0, 7}, 7946}, "a"}, inner));
  ASSERT_EQ(h.ml->sent.size(), 1u);
  EXPECT_EQ(h.ml->sent[0].to, (gossip::Address{{10, 0, 0, 7}, 7946}));
  EXPECT_EQ(h.ml->sent[0].msg, inner);
}

TEST(Serf, PingQueryIsAckedButNotDelivered) {
  Harness h;
  auto v = kc::test::vector_named("generated_serf.txt", "serf_query_ping").bytes("hex");
  h.receive(v);
  EXPECT_TRUE(h.queries().empty());
  auto acks = responses_sent(*h.ml);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].second.ack());
  EXPECT_EQ(acks[0].second.id, 99u);
  EXPECT_EQ(acks[0].second.from, "self");
  EXPECT_EQ(acks[0].first, (gossip::Address{{127, 0, 0, 1}, 7946}));
}

MessageQuery internal(const std::string& name, Bytes payload, uint32_t id) {
  MessageQuery q;
  q.ltime = 3;
  q.id = id;
  q.addr = {10, 0, 0, 9};
  q.port = 7000;
  q.source_node = "origin";
  q.timeout = 2s;
  q.name = name;
  q.payload = std::move(payload);
  return q;
}

NodeKeyResponse key_answer(const test::FakeMemberlist& ml, uint32_t id) {
  for (auto& [to, r] : responses_sent(ml)) {
    if (r.id != id) continue;
    EXPECT_EQ(r.payload.at(0), static_cast<uint8_t>(MessageType::KeyResponse));
    return decode_key_response(std::span<const uint8_t>(r.payload).subspan(1));
  }
  ADD_FAILURE() << "no key response for " << id;
  return {};
}

TEST(Serf, ConflictQueryAnswersWithMember) {
  Harness h;
  h.serf->notify_join(node("b", 2, {{"role", "web"}}));
  h.receive(encode(internal("_serf_conflict", str("b"), 1)));
  h.receive(encode(internal("_serf_conflict", str("nobody"), 2)));
  h.receive(encode(internal("_serf_conflict", str("self"), 3)));  // about us: no vote
  auto rs = responses_sent(*h.ml);
  ASSERT_EQ(rs.size(), 2u);
  auto m = decode_conflict_response(std::span<const uint8_t>(rs[0].second.payload).subspan(1));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->name, "b");
  EXPECT_EQ(m->addr, (gossip::Address{{10, 0, 0, 2}, 7946}));
  EXPECT_EQ(m->status, MemberStatus::Alive);
  EXPECT_EQ(rs[1].second.payload, (Bytes{6, 0xc0}));
  EXPECT_TRUE(h.queries().empty());
}

TEST(Serf, KeyQueriesWithoutEncryption) {
  Harness h;
  Bytes key(16, 1);
  h.receive(encode(internal("_serf_install-key", encode(KeyRequest{key}), 1)));
  h.receive(encode(internal("_serf_list-keys", encode(KeyRequest{}), 2)));
  auto install = key_answer(*h.ml, 1);
  EXPECT_FALSE(install.result);
  EXPECT_EQ(install.message, "No keyring to modify (encryption not enabled)");
  auto list = key_answer(*h.ml, 2);
  EXPECT_FALSE(list.result);
  EXPECT_EQ(list.message, "Keyring is empty (encryption not enabled)");
  EXPECT_FALSE(list.keys.has_value());
  EXPECT_EQ(h.serf->stats().at("encrypted"), "false");
}

TEST(Serf, KeyQueriesChangeTheKeyring) {
  auto ring = std::make_shared<gossip::Keyring>();
  Bytes k1(16, 1), k2(16, 2);
  ASSERT_FALSE(ring->add_key(k1));
  Harness h({}, ring);
  EXPECT_EQ(h.serf->stats().at("encrypted"), "true");
  h.receive(encode(internal("_serf_install-key", encode(KeyRequest{k2}), 1)));
  EXPECT_TRUE(key_answer(*h.ml, 1).result);
  EXPECT_TRUE(ring->contains(k2));
  h.receive(encode(internal("_serf_remove-key", encode(KeyRequest{k1}), 2)));
  auto refused = key_answer(*h.ml, 2);
  EXPECT_FALSE(refused.result);
  EXPECT_EQ(refused.message, "Removing the primary key is not allowed");
  h.receive(encode(internal("_serf_use-key", encode(KeyRequest{k2}), 3)));
  EXPECT_TRUE(key_answer(*h.ml, 3).result);
  h.receive(encode(internal("_serf_remove-key", encode(KeyRequest{k1}), 4)));
  EXPECT_TRUE(key_answer(*h.ml, 4).result);
  h.receive(encode(internal("_serf_use-key", encode(KeyRequest{Bytes(16, 9)}), 5)));
  EXPECT_EQ(key_answer(*h.ml, 5).message, "Requested key is not in the keyring");
  h.receive(encode(internal("_serf_install-key", encode(KeyRequest{Bytes(5, 9)}), 6)));
  EXPECT_EQ(key_answer(*h.ml, 6).message, "key size must be 16, 24 or 32 bytes");
  h.receive(encode(internal("_serf_install-key", Bytes{7, 0x05}, 7)));
  auto bad = key_answer(*h.ml, 7);
  EXPECT_FALSE(bad.result);
  EXPECT_EQ(bad.message, "");
  h.receive(encode(internal("_serf_list-keys", encode(KeyRequest{}), 8)));
  auto list = key_answer(*h.ml, 8);
  EXPECT_TRUE(list.result);
  EXPECT_EQ(list.keys, std::vector<std::string>{gossip::base64_encode(k2)});
  EXPECT_EQ(list.primary_key, gossip::base64_encode(k2));
}

TEST(Serf, ListKeysTruncatedToFit) {
  auto ring = std::make_shared<gossip::Keyring>();
  for (int i = 0; i < 50; ++i) ASSERT_FALSE(ring->add_key(Bytes(32, static_cast<uint8_t>(i))));
  Harness h({}, ring);
  h.receive(encode(internal("_serf_list-keys", encode(KeyRequest{}), 1)));
  auto list = key_answer(*h.ml, 1);
  EXPECT_TRUE(list.result);
  ASSERT_TRUE(list.keys.has_value());
  EXPECT_LT(list.keys->size(), 50u);
  EXPECT_EQ(list.message, "truncated key list response, showing first " +
                              std::to_string(list.keys->size()) + " of 50 keys");
  for (auto& [to, r] : responses_sent(*h.ml)) EXPECT_LE(encode(r).size(), 1024u);
}

TEST(Serf, KeyManagerTalliesAnswers) {
  auto ring = std::make_shared<gossip::Keyring>();
  Bytes k1(16, 1);
  ASSERT_FALSE(ring->add_key(k1));
  Harness h({}, ring);
  KeyResponse got;
  std::string error = "pending";
  h.serf->key_manager().list_keys([&](const KeyResponse& r, const std::string& e) {
    got = r;
    error = e;
  });
  h.settle();
  loopback(h);  // our own answer, sent to ourselves
  EXPECT_EQ(error, "");
  EXPECT_EQ(got.num_nodes, 1);
  EXPECT_EQ(got.num_resp, 1);
  EXPECT_EQ(got.keys.at(gossip::base64_encode(k1)), 1);
  EXPECT_EQ(got.primary_keys.at(gossip::base64_encode(k1)), 1);

  // Two live nodes, only we answer: "1/2 nodes reported success" at the timeout.
  h.ml->alive = 2;
  error = "pending";
  h.serf->key_manager().install_key(gossip::base64_encode(Bytes(16, 2)),
                                    [&](const KeyResponse& r, const std::string& e) {
                                      got = r;
                                      error = e;
                                    });
  h.settle();
  loopback(h);
  EXPECT_EQ(error, "pending");
  h.clock.run_for(10s);
  EXPECT_EQ(error, "1/2 nodes reported success");

  h.serf->key_manager().use_key("not base64!",
                                [&](const KeyResponse&, const std::string& e) { error = e; });
  EXPECT_EQ(error, "illegal base64 data at input byte 3");
}

TEST(Serf, KeyManagerReportsFailures) {
  Harness h;  // no encryption
  std::string error;
  h.serf->key_manager().list_keys([&](const KeyResponse& r, const std::string& e) {
    error = e;
    EXPECT_EQ(r.messages.at("self"), "Keyring is empty (encryption not enabled)");
  });
  h.settle();
  loopback(h);
  EXPECT_EQ(error, "1/1 nodes reported failure");
}

TEST(Serf, GracefulLeave) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  drain_broadcasts(h);
  std::string result = "pending";
  h.serf->leave([&](const std::string& e) { result = e; });
  EXPECT_EQ(h.serf->state(), Serf::State::Leaving);
  EXPECT_EQ(h.status("self"), MemberStatus::Leaving);
  std::string second;
  h.serf->leave([&](const std::string& e) { second = e; });
  EXPECT_EQ(second, "Leave already in progress");
  auto out = drain_broadcasts(h);  // the intent goes out (limit 4 transmits for 2 nodes)
  ASSERT_EQ(out.size(), 4u);
  auto l = decode_leave(std::span<const uint8_t>(out[0]).subspan(1));
  EXPECT_EQ(l.node, "self");
  EXPECT_FALSE(l.prune);
  EXPECT_TRUE(h.ml->left);  // memberlist leave only after the intent
  EXPECT_EQ(result, "pending");
  h.clock.run_for(1100ms);  // LeavePropagateDelay
  EXPECT_EQ(result, "");
  EXPECT_EQ(h.serf->state(), Serf::State::Left);
  h.serf->leave([&](const std::string& e) { second = e; });
  EXPECT_EQ(second, "");
  h.serf->shutdown();
  EXPECT_TRUE(h.ml->shut);
  h.serf->leave([&](const std::string& e) { second = e; });
  EXPECT_EQ(second, "Leave called after Shutdown");
}

TEST(Serf, GracefulLeaveTimesOutWhenIntentNeverGoesOut) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  std::string result = "pending";
  h.serf->leave([&](const std::string& e) { result = e; });
  h.clock.run_for(6s);
  EXPECT_EQ(result, "timeout while waiting for graceful leave");
  EXPECT_FALSE(h.ml->left);
}

TEST(Serf, LeaveAloneSkipsTheIntentWait) {
  Harness h;
  std::string result = "pending";
  h.serf->leave([&](const std::string& e) { result = e; });
  h.settle();
  EXPECT_TRUE(h.ml->left);
  h.clock.run_for(2s);
  EXPECT_EQ(result, "");
}

TEST(Serf, MemberlistLeaveTimeout) {
  Harness h;
  h.ml->leave_times_out = true;
  std::string result;
  h.serf->leave([&](const std::string& e) { result = e; });
  h.settle();
  EXPECT_EQ(result, "timeout waiting for leave broadcast");
}

TEST(Serf, SetTagsUpdatesOurMeta) {
  Harness h;
  EXPECT_EQ(h.serf->set_tags({{"role", "db"}}), "");
  h.settle();
  EXPECT_EQ(h.serf->local_member().tags.at("role"), "db");
  EXPECT_EQ(h.member_events(EventType::MemberUpdate).size(), 1u);
  EXPECT_EQ(h.serf->set_tags({{"x", std::string(600, 'y')}}),
            "Encoded length of tags exceeds limit of 512 bytes");
  EXPECT_EQ(h.serf->tags().at("role"), "db");
}

TEST(Serf, StatsLikeSerf) {
  Harness h;
  auto s = h.serf->stats();
  for (auto key :
       {"members", "failed", "left", "health_score", "member_time", "event_time", "query_time",
        "intent_queue", "event_queue", "query_queue", "encrypted", "coordinate_resets"})
    EXPECT_EQ(s.count(key), 1u) << key;
  EXPECT_EQ(s.at("members"), "1");
  EXPECT_EQ(s.at("member_time"), "1");
}

TEST(Serf, CoordinatesFromPingAcks) {
  Harness h;
  auto initial = kc::test::vector_named("generated_serf.txt", "serf_ack_payload_initial");
  EXPECT_EQ(h.serf->ack_payload(), initial.bytes("hex"));
  auto other = coordinate::Coordinate::initial({});
  other.vec[0] = 0.01;
  Bytes payload{1};
  auto c = coordinate::encode(other);
  payload.insert(payload.end(), c.begin(), c.end());
  h.serf->notify_ping_complete(node("b", 2), 15ms, payload);
  ASSERT_TRUE(h.serf->get_cached_coordinate("b").has_value());
  EXPECT_EQ(*h.serf->get_cached_coordinate("b"), other);
  EXPECT_NE(*h.serf->get_coordinate(), coordinate::Coordinate::initial({}));
  // Tolerated: no payload, a wrong version, garbage.
  h.serf->notify_ping_complete(node("c", 3), 15ms, {});
  h.serf->notify_ping_complete(node("c", 3), 15ms, Bytes{2, 0x80});
  h.serf->notify_ping_complete(node("c", 3), 15ms, Bytes{1, 0x05});
  EXPECT_FALSE(h.serf->get_cached_coordinate("c").has_value());
  // A reaped member's coordinate is forgotten.
  h.serf->notify_join(node("b", 2));
  h.serf->notify_leave(node("b", 2));
  h.serf->force_leave("b", true, nullptr);
  EXPECT_FALSE(h.serf->get_cached_coordinate("b").has_value());
}

TEST(Serf, CoordinatesDisabled) {
  Config c;
  c.disable_coordinates = true;
  Harness h(c);
  EXPECT_EQ(h.ml->d_.ping, nullptr);
  EXPECT_FALSE(h.serf->get_coordinate().has_value());
  EXPECT_EQ(h.serf->stats().count("coordinate_resets"), 0u);
}

TEST(Serf, NameConflictMinorityShutsDown) {
  Harness h;
  h.serf->notify_join(node("b", 2));
  gossip::Node other = h.ml->local_;
  other.addr.ip = {10, 0, 0, 66};
  h.serf->notify_conflict(h.ml->local_, other);
  h.settle();
  // The conflict query went out; two nodes say "self" lives elsewhere.
  auto got = drain_broadcasts(h);
  ASSERT_FALSE(got.empty());
  auto q = decode_query(std::span<const uint8_t>(got[0]).subspan(1));
  EXPECT_EQ(q.name, "_serf_conflict");
  Member elsewhere;
  elsewhere.name = "self";
  elsewhere.addr = other.addr;
  for (auto from : {"b", "c"})
    h.receive(
        encode(MessageQueryResponse{q.ltime, q.id, from, 0, encode_conflict_response(&elsewhere)}));
  bool down = false;
  h.serf->on_shutdown([&] { down = true; });
  h.clock.run_for(5s);
  EXPECT_TRUE(down);
  EXPECT_EQ(h.serf->state(), Serf::State::Shutdown);
}

TEST(Serf, NameConflictForOthersOnlyWarns) {
  Harness h;
  h.serf->notify_conflict(node("b", 2), node("b", 3));
  h.settle();
  EXPECT_EQ(h.serf->query_queue_depth(), 0u);
}

TEST(Serf, MalformedMessagesAreDropped) {
  Harness h;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 3000; ++i) {
    Bytes m(1 + rng() % 40);
    for (auto& b : m) b = static_cast<uint8_t>(rng());
    m[0] = static_cast<uint8_t>(m[0] % 11);
    h.serf->notify_msg(m);
  }
  h.serf->notify_msg({});
  h.settle();
  EXPECT_EQ(h.status("self"), MemberStatus::Alive);
}

TEST(Serf, SubscribersCanUnsubscribe) {
  Harness h;
  int seen = 0;
  int id = h.serf->subscribe([&](const Event&) { ++seen; });
  h.serf->user_event("a", {}, false);
  h.settle();
  h.serf->unsubscribe(id);
  h.serf->user_event("b", {}, false);
  h.settle();
  EXPECT_EQ(seen, 1);
}

TEST(Serf, CoalescingWhenConfigured) {
  Config c;
  c.coalesce_period = 3s;
  c.quiescent_period = 1s;
  c.user_coalesce_period = 3s;
  c.user_quiescent_period = 1s;
  Harness h(c);
  h.clock.run_for(2s);
  h.events.clear();
  h.serf->user_event("deploy", str("1"), true);
  h.serf->user_event("deploy", str("2"), true);
  h.serf->user_event("now", str("x"), false);
  h.serf->notify_join(node("b", 2));
  h.serf->notify_leave(node("b", 2));
  h.settle();
  ASSERT_EQ(h.user_events().size(), 1u);  // only the CC=false one so far
  EXPECT_EQ(h.user_events()[0].name, "now");
  EXPECT_TRUE(h.member_events(EventType::MemberJoin).empty());
  h.clock.run_for(1500ms);
  ASSERT_EQ(h.user_events().size(), 2u);
  EXPECT_EQ(h.user_events()[1].payload, str("2"));
  EXPECT_TRUE(h.member_events(EventType::MemberJoin).empty());
  EXPECT_EQ(h.member_events(EventType::MemberFailed).size(), 1u);
}

}  // namespace
}  // namespace kc::serf

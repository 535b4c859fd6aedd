// The connection state machine without a socket: session rules, ordering, limits, streams.
#include "agent/rpc/session.h"

#include <gtest/gtest.h>

#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

using kc::rpc::Session;
using kc::rpc::SessionLimits;
namespace proto = kc::rpc::proto;

// Collects what the session writes; `pending` simulates bytes the peer has not read.
struct Capture : kc::rpc::SessionOutput {
  Bytes data;
  size_t pending = 0;
  bool finished = false;
  std::function<void()> after_finish;
  void send(Bytes b) override {
    pending += b.size();
    data.insert(data.end(), b.begin(), b.end());
  }
  size_t backlog() const override { return pending; }
  void finish(std::function<void()> a) override {
    finished = true;
    after_finish = std::move(a);
  }
  // Delayed calls are held until the test runs them.
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> delayed;
  void after(std::chrono::milliseconds d, std::function<void()> fn) override {
    delayed.emplace_back(d, std::move(fn));
  }
  // Decodes everything written so far as alternating headers and (known) bodies.
  std::vector<mp::Document> objects() const {
    std::vector<mp::Document> out;
    size_t off = 0;
    while (off < data.size()) out.push_back(mp::Document::parse(data, off));
    return out;
  }
  std::vector<proto::ResponseHeader> headers_only() const {
    std::vector<proto::ResponseHeader> out;
    for (auto& d : objects()) out.push_back(proto::read_response_header(d.root()));
    return out;
  }
};

struct FakeLogs : kc::rpc::LogSource {
  std::vector<kc::log::Line> lines;
  std::map<uint64_t, std::function<void(const kc::log::Line&)>> subs;
  uint64_t next = 0;
  std::vector<kc::log::Line> recent() override { return lines; }
  uint64_t subscribe(std::function<void(const kc::log::Line&)> cb) override {
    subs[++next] = std::move(cb);
    return next;
  }
  void unsubscribe(uint64_t id) override { subs.erase(id); }
  void log(spdlog::level::level_enum level, std::string text) {
    kc::log::Line l{level, std::move(text)};
    auto copy = subs;
    for (auto& [id, cb] : copy) cb(l);
  }
};

class SessionTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  FakeAgent agent{io};
  FakeLogs logs;
  Capture out;
  std::unique_ptr<Session> session;

  void start(std::string auth = "", SessionLimits limits = {}) {
    session = std::make_unique<Session>(agent, &logs, out, std::move(auth), "test", limits);
  }
  void feed(const Bytes& b) { session->feed(b); }
  void run() {
    io.poll();
    io.restart();
  }
  void handshaken(std::string auth = "") {
    start(std::move(auth));
    feed(handshake(1));
    out.data.clear();
    out.pending = 0;
  }
  Bytes body_request(const std::string& command, uint64_t seq,
                     const std::function<void(mp::Writer&)>& body) {
    return request(command, seq, body);
  }
};

TEST_F(SessionTest, HandshakeFirst) {
  start();
  feed(request("members", 7));
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].seq, 7u);
  EXPECT_EQ(hs[0].error, "Handshake required");
  EXPECT_TRUE(out.finished);
  EXPECT_TRUE(session->closed());
  feed(handshake(8));  // ignored once closed
  EXPECT_EQ(out.headers_only().size(), 1u);
}

TEST_F(SessionTest, BadVersionThenStillRequiresHandshake) {
  start();
  feed(request("handshake", 1, [](mp::Writer& w) { w.map(1).key("Version").uint(0); }));
  feed(request("stats", 2));
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].error, "Unsupported IPC version");
  EXPECT_EQ(hs[1].error, "Handshake required");
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, ByteAtATimeEqualsAllAtOnce) {
  Transcript t = Transcript::load();
  Bytes all;
  // (name, occurrence) of the transcript's good handshake, auth, and a few queries
  const std::pair<const char*, int> steps[] = {{"handshake", 1},
                                               {"auth", 1},
                                               {"members", 2},
                                               {"members-filtered", 0},
                                               {"get-coordinate", 0}};
  for (auto [name, n] : steps) {
    Bytes r = from_hex(t.request(name, n));
    all.insert(all.end(), r.begin(), r.end());
  }
  start("s3cret");
  feed(all);
  Bytes whole = out.data;
  ASSERT_FALSE(whole.empty());

  Capture out2;
  Session s2(agent, &logs, out2, "s3cret", "test2");
  for (uint8_t b : all) s2.feed(std::span<const uint8_t>(&b, 1));
  EXPECT_EQ(to_hex(out2.data), to_hex(whole));
}

TEST_F(SessionTest, AuthRequiredLeavesTheBodyToBeReadAsAHeader) {
  handshaken("s3cret");
  // members-filtered before auth: serf answers without reading the body, then decodes the
  // body as the next header; its missing fields keep the previous header's values.
  feed(request("members-filtered", 2, [](mp::Writer& w) {
    w.map(3).key("Name").str("").key("Status").str("").key("Tags").map(0);
  }));
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 2u);
  for (auto& h : hs) {
    EXPECT_EQ(h.seq, 2u);
    EXPECT_EQ(h.error, "Authentication required");
  }
  EXPECT_FALSE(out.finished);
  feed(request("auth", 3, [](mp::Writer& w) { w.map(1).key("AuthKey").str("s3cret"); }));
  feed(request("members", 4));
  hs = out.headers_only();
  EXPECT_EQ(hs[2].error, "");
  EXPECT_EQ(hs[3].seq, 4u);
  EXPECT_EQ(hs[3].error, "");
}

TEST_F(SessionTest, AuthWithoutConfiguredKey) {
  handshaken();
  feed(request("auth", 2, [](mp::Writer& w) { w.map(1).key("AuthKey").str(""); }));
  feed(request("auth", 3, [](mp::Writer& w) { w.map(1).key("AuthKey").str("x"); }));
  ASSERT_EQ(out.delayed.size(), 1u);
  out.delayed[0].second();
  auto hs = out.headers_only();
  EXPECT_EQ(hs[0].error, "");
  EXPECT_EQ(hs[1].error, "Invalid authentication token");
}

TEST_F(SessionTest, WrongTokenIsCountedAnsweredLateAndCloses) {
  kc::rpc::SessionCounters counters;
  kc::rpc::SessionLimits limits;
  limits.auth_failure_delay = std::chrono::milliseconds(750);
  session = std::make_unique<Session>(agent, &logs, out, "s3cret", "test", limits, &counters);
  feed(handshake(1));
  EXPECT_FALSE(session->authenticated());
  feed(request("auth", 2, [](mp::Writer& w) { w.map(1).key("AuthKey").str("s3cre"); }));
  // Nothing yet, and requests after it are not even read.
  feed(request("auth", 3, [](mp::Writer& w) { w.map(1).key("AuthKey").str("s3cret"); }));
  EXPECT_EQ(out.headers_only().size(), 1u);
  EXPECT_EQ(counters.auth_failures, 1u);
  ASSERT_EQ(out.delayed.size(), 1u);
  EXPECT_EQ(out.delayed[0].first, std::chrono::milliseconds(750));
  EXPECT_FALSE(out.finished);
  out.delayed[0].second();
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[1].seq, 2u);
  EXPECT_EQ(hs[1].error, "Invalid authentication token");
  EXPECT_TRUE(out.finished);
  EXPECT_FALSE(session->authenticated());
}

TEST_F(SessionTest, AuthenticatedAndIdleFollowTheSession) {
  start("s3cret");
  EXPECT_FALSE(session->authenticated());
  EXPECT_TRUE(session->idle());
  feed(handshake(1));
  EXPECT_FALSE(session->authenticated());
  feed(request("auth", 2, [](mp::Writer& w) { w.map(1).key("AuthKey").str("s3cret"); }));
  EXPECT_TRUE(session->authenticated());
  EXPECT_TRUE(session->idle());
  // A partial request is work in progress.
  Bytes half = request("members", 3);
  half.resize(half.size() - 1);
  feed(half);
  EXPECT_FALSE(session->idle());
  feed(Bytes{request("members", 3).back()});
  EXPECT_TRUE(session->idle());
  // An open stream keeps the connection busy.
  feed(request("stream", 4, [](mp::Writer& w) { w.map(1).key("Type").str("*"); }));
  EXPECT_FALSE(session->idle());
}

TEST_F(SessionTest, UndecodableBodyClosesWithoutReply) {
  handshaken();
  feed(request("event", 2, [](mp::Writer& w) { w.array(2).uint(1).uint(2); }));
  EXPECT_TRUE(out.data.empty());
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, BinWhereGoWantsAStringCloses) {
  handshaken();
  feed(request("force-leave", 2,
               [](mp::Writer& w) { w.map(1).key("Node").bytes(mp::as_bytes("n")); }));
  EXPECT_TRUE(out.data.empty());
  EXPECT_TRUE(out.finished);
  EXPECT_TRUE(agent.calls().empty());
}

TEST_F(SessionTest, HeaderThatIsNotAMapCloses) {
  handshaken();
  feed(from_hex("93010203"));
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, MalformedByteCloses) {
  handshaken();
  feed(from_hex("c1"));
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, OversizedObjectClosesBeforeItArrives) {
  handshaken();
  feed(from_hex("db7fffffff"));  // a 2 GiB string is announced
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, TruncatedRequestWaits) {
  handshaken();
  Bytes r = request("members", 2);
  feed(Bytes(r.begin(), r.end() - 1));
  EXPECT_TRUE(out.data.empty());
  EXPECT_FALSE(out.finished);
  feed(Bytes(r.end() - 1, r.end()));
  EXPECT_EQ(out.headers_only()[0].seq, 2u);
}

TEST_F(SessionTest, UnknownCommandRepliesThenCloses) {
  handshaken();
  feed(request("frobnicate", 5));
  feed(request("members", 6));
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].error, "Unsupported command");
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, BadRegexClosesWithoutReply) {
  handshaken();
  feed(request("members-filtered", 2, [](mp::Writer& w) {
    w.map(3).key("Name").str("(").key("Status").str("").key("Tags").map(0);
  }));
  EXPECT_TRUE(out.data.empty());
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, MembersFilteredRegexesAreAnchored) {
  agent.member_list.push_back(make_member("r2", {10, 0, 0, 2}, 7946, {{"role", "web"}}, "failed"));
  handshaken();
  auto filtered = [&](std::string name, std::string status, Tags tags) {
    out.data.clear();
    feed(request("members-filtered", 2, [&](mp::Writer& w) {
      w.map(3).key("Name").str(name).key("Status").str(status).key("Tags").map(tags.size());
      for (auto& [k, v] : tags) w.key(k).str(v);
    }));
    auto objs = out.objects();
    std::vector<std::string> names;
    for (auto& m : proto::read_members(objs.at(1).root())) names.push_back(m.name);
    return names;
  };
  EXPECT_EQ(filtered("", "", {}), (std::vector<std::string>{"r", "r2"}));
  EXPECT_EQ(filtered("r", "", {}), (std::vector<std::string>{"r"}));
  EXPECT_EQ(filtered("r.*", "failed", {}), (std::vector<std::string>{"r2"}));
  EXPECT_EQ(filtered("", "alive|failed", {}), (std::vector<std::string>{"r", "r2"}));
  EXPECT_EQ(filtered("", "", {{"role", "w"}}), (std::vector<std::string>{}));
  EXPECT_EQ(filtered("", "", {{"role", "w.b"}}), (std::vector<std::string>{"r2"}));
  EXPECT_EQ(filtered("", "", {{"missing", ""}}), (std::vector<std::string>{"r", "r2"}));
}

TEST_F(SessionTest, RequestsWaitForAnAsyncReplyAndKeepTheirOrder) {
  handshaken();
  Bytes both = request("join", 2, [](mp::Writer& w) {
    w.map(2).key("Existing").array(1).str("10.0.0.9:7946").key("Replay").boolean(false);
  });
  Bytes m = request("members", 3);
  both.insert(both.end(), m.begin(), m.end());
  feed(both);
  EXPECT_TRUE(out.data.empty());  // join pending; members not answered ahead of it
  run();
  auto objs = out.objects();
  ASSERT_EQ(objs.size(), 4u);
  EXPECT_EQ(proto::read_response_header(objs[0].root()).seq, 2u);
  EXPECT_EQ(proto::read_join_response(objs[1].root()), 1);
  EXPECT_EQ(proto::read_response_header(objs[2].root()).seq, 3u);
  EXPECT_EQ(agent.calls()[0], "join 10.0.0.9:7946");
}

TEST_F(SessionTest, JoinErrorStillSendsTheBody) {
  agent.join_error = "1 error(s) occurred:\n\n* Failed to join 10.0.0.9: timeout";
  handshaken();
  feed(request("join", 2, [](mp::Writer& w) {
    w.map(2).key("Existing").array(1).str("10.0.0.9:7946").key("Replay").boolean(true);
  }));
  run();
  auto objs = out.objects();
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(proto::read_response_header(objs[0].root()).error, agent.join_error);
  EXPECT_EQ(proto::read_join_response(objs[1].root()), 0);
}

TEST_F(SessionTest, KeyOperationsAlwaysCarryTheBody) {
  agent.key_result = {"1/1 nodes reported failure",
                      {{"r", "Keyring is empty (encryption not enabled)"}},
                      {},
                      1,
                      1,
                      1};
  handshaken();
  feed(request("list-keys", 2));
  feed(request("install-key", 3, [](mp::Writer& w) { w.map(1).key("Key").str("a2V5"); }));
  run();
  auto objs = out.objects();
  ASSERT_EQ(objs.size(), 4u);
  EXPECT_EQ(proto::read_response_header(objs[0].root()).error, "1/1 nodes reported failure");
  auto r = proto::read_key_response(objs[1].root());
  EXPECT_EQ(r.messages.at("r"), "Keyring is empty (encryption not enabled)");
  EXPECT_EQ(r.num_err, 1);
  EXPECT_EQ(agent.calls(), (std::vector<std::string>{"list-keys", "install-key a2V5"}));
}

TEST_F(SessionTest, TagsMergeIntoTheCurrentSet) {
  agent.tags = {{"a", "1"}, {"b", "2"}};
  handshaken();
  feed(request("tags", 2, [](mp::Writer& w) {
    w.map(2).key("DeleteTags").array(1).str("a").key("Tags").map(1).key("c").str("3");
  }));
  EXPECT_EQ(agent.tags, (Tags{{"b", "2"}, {"c", "3"}}));
}

TEST_F(SessionTest, OutputBacklogHoldsRequestsUntilDrained) {
  SessionLimits limits;
  limits.reply_backlog = 10;
  start("", limits);
  feed(handshake(1));
  out.pending = 1000;  // the peer is not reading
  feed(request("stats", 2));
  EXPECT_EQ(out.headers_only().size(), 1u);  // only the handshake reply
  EXPECT_TRUE(session->accepting_input());
  out.pending = 0;
  session->drained();
  EXPECT_EQ(out.objects().size(), 3u);
}

TEST_F(SessionTest, InputBeyondTheBufferLimitCloses) {
  SessionLimits limits;
  limits.max_buffered = 64;
  limits.max_object = 32;
  start("", limits);
  feed(handshake(1));
  feed(request("join", 2, [](mp::Writer& w) { w.map(0); }));  // pending on the agent
  Bytes more(Session::kReadSlack + 100, 0xc0);
  feed(more);
  EXPECT_TRUE(out.finished);
}

TEST_F(SessionTest, StreamFiltersStopAndDuplicates) {
  handshaken();
  feed(request("stream", 2,
               [](mp::Writer& w) { w.map(1).key("Type").str("member-join,user:deploy"); }));
  feed(request("stream", 2, [](mp::Writer& w) { w.map(1).key("Type").str("user"); }));
  feed(request("stream", 3, [](mp::Writer& w) { w.map(1).key("Type").str("user,bogus"); }));
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_EQ(hs[0].error, "");
  EXPECT_EQ(hs[1].error, "Stream with given sequence exists");
  EXPECT_EQ(hs[2].error, "Invalid event filter");
  out.data.clear();

  agent.emit(MemberEvent{"member-join", {agent.member_list[0]}});
  agent.emit(MemberEvent{"member-leave", {agent.member_list[0]}});
  agent.emit(UserEvent{3, "other", {}, false});
  agent.emit(UserEvent{4, "deploy", {'x'}, true});
  agent.emit(QueryEvent{5, "q", {}, 9, std::chrono::steady_clock::now() + std::chrono::seconds(5)});
  auto objs = out.objects();
  ASSERT_EQ(objs.size(), 4u);
  EXPECT_EQ(objs[1].root().get("Event").string(), "member-join");
  EXPECT_EQ(proto::read_members(objs[1].root()).at(0).name, "r");
  EXPECT_EQ(objs[3].root().get("Name").string(), "deploy");
  EXPECT_EQ(objs[3].root().get("LTime").uint(), 4u);
  EXPECT_TRUE(objs[3].root().get("Coalesce").boolean());

  out.data.clear();
  feed(request("stop", 4, [](mp::Writer& w) { w.map(1).key("Stop").uint(2); }));
  agent.emit(MemberEvent{"member-join", {}});
  EXPECT_EQ(out.objects().size(), 1u);  // just the stop reply
  EXPECT_EQ(agent.subscribers(), 0u);
}

TEST_F(SessionTest, EmptyStreamFilterMeansEverything) {
  handshaken();
  feed(request("stream", 2, [](mp::Writer& w) { w.map(1).key("Type").str(""); }));
  out.data.clear();
  agent.emit(MemberEvent{"member-reap", {}});
  agent.emit(UserEvent{1, "a", {}, false});
  EXPECT_EQ(out.objects().size(), 4u);
}

TEST_F(SessionTest, SlowReaderLosesStreamRecordsNotReplies) {
  SessionLimits limits;
  limits.stream_backlog = 100;
  start("", limits);
  feed(handshake(1));
  feed(request("stream", 2, [](mp::Writer& w) { w.map(1).key("Type").str("user"); }));
  out.pending = 1000;
  size_t before = out.data.size();
  agent.emit(UserEvent{1, "a", {}, false});
  EXPECT_EQ(out.data.size(), before);
  feed(request("members", 3));  // replies still go out (below reply_backlog)
  EXPECT_GT(out.data.size(), before);
}

TEST_F(SessionTest, QueryIdsAreCountedPerConnectionAndExpire) {
  handshaken();
  feed(request("stream", 2, [](mp::Writer& w) { w.map(1).key("Type").str("query"); }));
  out.data.clear();
  auto now = std::chrono::steady_clock::now();
  agent.emit(QueryEvent{1, "past", {}, 100, now - std::chrono::seconds(1)});
  agent.emit(QueryEvent{2, "live", {}, 101, now + std::chrono::seconds(30)});
  auto objs = out.objects();
  ASSERT_EQ(objs.size(), 4u);
  EXPECT_EQ(objs[1].root().get("ID").uint(), 1u);
  EXPECT_EQ(objs[3].root().get("ID").uint(), 2u);
  out.data.clear();
  auto respond = [&](uint64_t seq, uint64_t id) {
    feed(request("respond", seq, [&](mp::Writer& w) {
      w.map(2).key("ID").uint(id).key("Payload").bytes(mp::as_bytes("ok"));
    }));
  };
  respond(3, 1);  // past its deadline: serf never registered it
  respond(4, 2);  // the fake has no such handle: its own error passes through
  respond(5, 7);
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_EQ(hs[0].error, "No pending queries matching ID");
  EXPECT_EQ(hs[1].error, "response is past the deadline");
  EXPECT_EQ(hs[2].error, "No pending queries matching ID");
}

TEST_F(SessionTest, InternalQueryNamesAreRefused) {
  handshaken();
  auto query = [&](uint64_t seq, std::string name, bool nil_payload) {
    feed(request("query", seq, [&](mp::Writer& w) {
      w.map(2).key("Name").str(name).key("Payload");
      if (nil_payload)
        w.nil();
      else
        w.bytes(Bytes{});
    }));
  };
  query(2, "_serf_conflict", true);
  query(3, "_serf_ping", false);  // an empty but non-nil payload is refused too
  query(4, "_serf_ping", true);
  auto hs = out.headers_only();
  ASSERT_GE(hs.size(), 3u);
  EXPECT_EQ(hs[0].error, "Queries cannot contain the '_serf_' prefix");
  EXPECT_EQ(hs[1].error, "Queries cannot contain the '_serf_' prefix");
  EXPECT_EQ(hs[2].error, "");
  EXPECT_EQ(agent.calls(), (std::vector<std::string>{"query _serf_ping"}));
}

// An agent that reports query records from inside query(): the reply must still come first.
struct EagerAgent : FakeAgent {
  using FakeAgent::FakeAgent;
  Error query(const QueryParams& p, std::function<void(const QueryRecord&)> on_record,
              std::function<void()> on_done) override {
    on_record(QueryRecord{QueryRecord::Type::Ack, "me", {}});
    on_done();
    return "";
  }
};

TEST_F(SessionTest, QueryReplyPrecedesRecordsDeliveredEarly) {
  EagerAgent eager(io);
  Capture c;
  Session s(eager, nullptr, c, "", "eager");
  s.feed(handshake(1));
  s.feed(request("query", 2, [](mp::Writer& w) { w.map(1).key("Name").str("q"); }));
  auto objs = c.objects();
  ASSERT_EQ(objs.size(), 6u);
  EXPECT_EQ(proto::read_response_header(objs[1].root()).seq, 2u);
  EXPECT_EQ(objs[3].root().get("Type").string(), "ack");
  EXPECT_EQ(objs[5].root().get("Type").string(), "done");
}

TEST_F(SessionTest, MonitorReplaysFiltersAndRefusesASecond) {
  logs.lines = {{spdlog::level::debug, "2026/01/01 00:00:00 [DEBUG] x: old debug"},
                {spdlog::level::info, "2026/01/01 00:00:00 [INFO] x: old info"}};
  handshaken();
  feed(request("monitor", 2, [](mp::Writer& w) { w.map(1).key("LogLevel").str("info"); }));
  logs.log(spdlog::level::warn, "new warn");
  logs.log(spdlog::level::trace, "new trace");
  feed(request("monitor", 3, [](mp::Writer& w) { w.map(1).key("LogLevel").str("warn"); }));
  auto objs = out.objects();
  ASSERT_EQ(objs.size(), 6u);
  EXPECT_EQ(proto::read_response_header(objs[0].root()).error, "");
  EXPECT_EQ(objs[2].root().get("Log").string(), "2026/01/01 00:00:00 [INFO] x: old info");
  EXPECT_EQ(objs[4].root().get("Log").string(), "new warn");
  EXPECT_EQ(proto::read_response_header(objs[5].root()).error, "Monitor already exists");
  feed(request("stop", 4, [](mp::Writer& w) { w.map(1).key("Stop").uint(2); }));
  EXPECT_TRUE(logs.subs.empty());
}

TEST_F(SessionTest, LeaveRepliesThenFinishesAndShutsDown) {
  handshaken();
  feed(request("leave", 2));
  run();
  auto hs = out.headers_only();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].error, "");
  ASSERT_TRUE(out.finished);
  EXPECT_FALSE(agent.shutdown_called());
  out.after_finish();  // the connection runs this once the reply is written
  EXPECT_TRUE(agent.shutdown_called());
}

TEST_F(SessionTest, LeaveStillShutsDownWhenTheClientWentAway) {
  handshaken();
  feed(request("leave", 2));
  session.reset();
  run();
  EXPECT_TRUE(agent.shutdown_called());
}

TEST_F(SessionTest, ClosingDropsSubscriptionsAndIgnoresLateAnswers) {
  handshaken();
  feed(request("stream", 2, [](mp::Writer& w) { w.map(1).key("Type").str("*"); }));
  feed(request("monitor", 3, [](mp::Writer& w) { w.map(1).key("LogLevel").str("debug"); }));
  feed(request("join", 4, [](mp::Writer& w) { w.map(0); }));
  EXPECT_EQ(agent.subscribers(), 1u);
  EXPECT_EQ(logs.subs.size(), 1u);
  size_t before = out.data.size();
  session->close();
  EXPECT_EQ(agent.subscribers(), 0u);
  EXPECT_TRUE(logs.subs.empty());
  run();  // the join completes after the close
  EXPECT_EQ(out.data.size(), before);
  session.reset();
  run();
}

TEST_F(SessionTest, StatsAndCoordinates) {
  handshaken();
  feed(request("stats", 2));
  feed(request("get-coordinate", 3, [](mp::Writer& w) { w.map(1).key("Node").str("r"); }));
  auto objs = out.objects();
  ASSERT_EQ(objs.size(), 4u);
  EXPECT_EQ(proto::read_stats(objs[1].root()), agent.stats_map);
  auto c = proto::read_coordinate_response(objs[3].root());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->vec.size(), 8u);
  EXPECT_DOUBLE_EQ(c->error, 1.5);
}

}  // namespace
}  // namespace kc::test

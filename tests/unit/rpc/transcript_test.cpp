// Replays the requests of the real RPC session in rpc_transcript.txt (recorded against a
// serf 0.9.4 agent with rpc_auth "s3cret") over a socket, with the fake agent scripted like
// that agent, and expects the same response bytes wherever serf's were deterministic.
#include <gtest/gtest.h>

#include "support/wait.h"
#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

class TranscriptTest : public ::testing::Test {
 protected:
  ServerHarness h{"s3cret"};
  Transcript t = Transcript::load();

  // Sends a transcript request and expects exactly these response bytes next.
  void exchange(RawConn& c, const std::string& request_hex, const std::string& response_hex) {
    c.send_hex(request_hex);
    expect_bytes(c, response_hex);
  }
  void expect_bytes(RawConn& c, const std::string& response_hex) {
    Bytes want = from_hex(response_hex);
    auto got = c.read_exact(want.size());
    ASSERT_TRUE(got) << "no response for " << response_hex;
    EXPECT_EQ(to_hex(*got), response_hex);
  }
};

TEST_F(TranscriptTest, LoadsTheRecordedSession) {
  EXPECT_GE(t.requests.size(), 26u);
  EXPECT_GE(t.raws.size(), 20u);
}

TEST_F(TranscriptTest, CommandBeforeHandshakeIsRefusedAndClosed) {
  RawConn c(h.port);
  exchange(c, t.request("members", 0), t.raws[0]);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(TranscriptTest, FullSession) {
  {
    // A wrong token: serf answers and keeps the connection; we send the same bytes, late,
    // then close it, so the session goes on over a new connection.
    RawConn bad(h.port);
    exchange(bad, t.request("handshake", 1), t.raws[2]);
    exchange(bad, t.request("auth", 0), t.raws[5]);
    EXPECT_TRUE(bad.wait_closed());
  }
  RawConn c(h.port);
  // 2. versions and duplicate handshake
  exchange(c, t.request("handshake", 0), t.raws[1]);
  exchange(c, t.request("handshake", 1), t.raws[2]);
  exchange(c, t.request("handshake", 2), t.raws[3]);
  // 3. auth
  exchange(c, t.request("members", 1), t.raws[4]);
  exchange(c, t.request("auth", 1), t.raws[6]);
  // 4. members, members-filtered (tag regex r.*, status alive)
  exchange(c, t.request("members", 2), t.raws[7]);
  exchange(c, t.request("members-filtered", 0), t.raws[8]);

  // stats: Go's map order is random, so compare decoded (the raw line is also truncated).
  c.send_hex(t.request("stats", 0));
  auto header = c.read_object();
  ASSERT_TRUE(header);
  EXPECT_EQ(to_hex(header->first), "82a54572726f72a0a353657109");
  auto body = c.read_object();
  ASSERT_TRUE(body);
  auto stats = rpc::proto::read_stats(body->second.root());
  EXPECT_EQ(stats, h.agent.stats_map);
  // Our encoding sorts the sections and keys, which Go does not promise but accepts.
  EXPECT_EQ(to_hex(body->first).substr(0, 4), "85a5");  // 5 sections, "agent" first

  exchange(c, t.request("get-coordinate", 0), t.raws[10]);
  exchange(c, t.request("get-coordinate", 1), t.raws[11]);
  exchange(c, t.request("tags", 0), t.raws[12]);
  EXPECT_EQ(h.agent.calls().back(), "set-tags extra=1,role=rpc");

  // 5. stream user+query; an event comes back on it after the event's own reply
  exchange(c, t.request("stream", 0), t.raws[13]);
  exchange(c, t.request("event", 0), t.raws[14]);
  expect_bytes(c, t.raws[15]);
  exchange(c, t.request("stream", 1), t.raws[16]);
  // query: reply, the query on our stream (ID 1), then our own ack
  exchange(c, t.request("query", 0), t.raws[17]);
  expect_bytes(c, t.raws[18]);
  // respond to ID 1: reply, then the response record, then "done" at the deadline
  exchange(c, t.request("respond", 0), t.raws[19]);
  expect_bytes(c, t.raws[20]);
  expect_bytes(c, t.raws[21]);
  exchange(c, t.request("respond", 1), t.raws[22]);
  exchange(c, t.request("stop", 0), t.raws[23]);

  // 6. monitor: reply first, then the replayed log lines (their text is ours).
  kc::log::get("test")->info("transcript marker before monitor");
  c.send_hex(t.request("monitor", 0));
  header = c.read_object();
  ASSERT_TRUE(header);
  EXPECT_EQ(to_hex(header->first), "82a54572726f72a0a353657114");
  bool saw_marker = false;
  while (!saw_marker) {
    auto hdr = c.read_object();
    ASSERT_TRUE(hdr) << "marker line never replayed";
    EXPECT_EQ(to_hex(hdr->first), "82a54572726f72a0a353657114");
    auto rec = c.read_object();
    ASSERT_TRUE(rec);
    std::string line = rec->second.root().get("Log").string();
    EXPECT_NE(line.find(" ["), std::string::npos) << line;  // "YYYY/MM/DD hh:mm:ss [LEVEL] ..."
    saw_marker = line.find("transcript marker before monitor") != std::string::npos;
  }
  // event (Seq 21) and stop (Seq 22): their replies arrive between log records.
  c.send_hex(t.request("event", 1));
  c.send_hex(t.request("stop", 1));
  bool event_ok = false, stop_ok = false;
  while (!(event_ok && stop_ok)) {
    auto hdr = c.read_object();
    ASSERT_TRUE(hdr);
    auto rh = rpc::proto::read_response_header(hdr->second.root());
    if (rh.seq == 20) {
      ASSERT_TRUE(c.read_object());  // a log record
    } else if (rh.seq == 21) {
      event_ok = rh.error.empty();
    } else if (rh.seq == 22) {
      stop_ok = rh.error.empty();
    } else {
      FAIL() << "unexpected seq " << rh.seq;
    }
  }
  // monitor with a bad level (Seq 23)
  c.send_hex(t.request("monitor", 1));
  auto bad = c.read_object();
  ASSERT_TRUE(bad);
  auto bad_h = rpc::proto::read_response_header(bad->second.root());
  EXPECT_EQ(bad_h.seq, 23u);
  EXPECT_EQ(bad_h.error, "Unknown log level: NONSENSE");

  // 7. unknown command: error reply, then the connection closes
  c.send_hex(t.request("frobnicate", 0));
  auto unk = c.read_object();
  ASSERT_TRUE(unk);
  auto unk_h = rpc::proto::read_response_header(unk->second.root());
  EXPECT_EQ(unk_h.seq, 24u);
  EXPECT_EQ(unk_h.error, "Unsupported command");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(TranscriptTest, LeaveAnswersThenClosesAndShutsDown) {
  RawConn c(h.port);
  exchange(c, t.request("handshake", 3), t.raws[t.raws.size() - 3]);
  exchange(c, t.request("auth", 2), t.raws[t.raws.size() - 2]);
  exchange(c, t.request("leave", 0), t.raws[t.raws.size() - 1]);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(wait_until([&] { return h.agent.shutdown_called(); }));
}

}  // namespace
}  // namespace kc::test

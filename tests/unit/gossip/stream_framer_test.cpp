// Framing a gossip TCP stream that arrives in pieces: the framer finds the end of the first
// message exactly when its last byte arrives, whatever the split, for every captured stream
// and a large push/pull; a trickled push/pull costs linear work; garbage is refused.
#include "agent/gossip/stream_framer.h"

#include <gtest/gtest.h>

#include <chrono>

#include "agent/gossip/envelope.h"
#include "agent/gossip/messages.h"
#include "common/msgpack/reader.h"
#include "support/vectors.h"

using namespace kc::gossip;

namespace {

// A plain push/pull with `nodes` entries and `user_state` bytes of user state.
Bytes push_pull(int nodes, size_t user_state) {
  Bytes out{static_cast<uint8_t>(MsgType::PushPull)};
  encode_body(out, PushPullHeader{nodes, int64_t(user_state), false});
  for (int i = 0; i < nodes; ++i) {
    PushNodeState n;
    n.name = "node-" + std::to_string(i);
    n.addr = {10, 0, uint8_t(i >> 8), uint8_t(i)};
    n.port = 7946;
    n.meta = Bytes(40, 'm');
    n.incarnation = uint32_t(i);
    n.vsn = {1, 5, 2, 2, 5, 4};
    encode_body(out, n);
  }
  out.insert(out.end(), user_state, 0x5a);
  return out;
}

// Feeds `wire` (plus `extra` bytes of a next message) in pieces of `step`; returns the length
// the framer reported and checks it reported nothing earlier.
std::optional<size_t> feed_in_pieces(const Bytes& wire, size_t step, size_t extra = 0) {
  Bytes stream = wire;
  stream.insert(stream.end(), extra, 0x01);
  StreamFramer framer;
  for (size_t have = std::min(step, stream.size());; have = std::min(have + step, stream.size())) {
    auto len = framer.length(std::span(stream).first(have));
    if (len) {
      EXPECT_GE(have, *len);
      EXPECT_LT(have - std::min(have, step), *len) << "reported late";
      return len;
    }
    if (have == stream.size()) return std::nullopt;
  }
}

}  // namespace

TEST(StreamFramer, EveryCapturedStreamInAnySplit) {
  auto vectors = kc::test::load_vectors("captured_tcp.txt");
  ASSERT_FALSE(vectors.empty());
  for (auto& v : vectors) {
    Bytes wire = v.bytes("hex");
    for (size_t step : {size_t{1}, size_t{3}, size_t{64}, wire.size()}) {
      EXPECT_EQ(feed_in_pieces(wire, step), wire.size()) << v.name() << " step " << step;
      EXPECT_EQ(feed_in_pieces(wire, step, 7), wire.size()) << v.name() << " step " << step;
    }
  }
}

TEST(StreamFramer, PushPullWithNodesAndUserState) {
  for (int nodes : {0, 1, 50}) {
    for (size_t user : {size_t{0}, size_t{300}}) {
      Bytes wire = push_pull(nodes, user);
      for (size_t step : {size_t{1}, size_t{17}, size_t{4096}}) {
        EXPECT_EQ(feed_in_pieces(wire, step, 5), wire.size())
            << nodes << " nodes, " << user << " bytes, step " << step;
      }
      EXPECT_EQ(stream_message_length(wire), wire.size());
    }
  }
}

TEST(StreamFramer, SingleObjectsAndEncryptedFrames) {
  Bytes ping = encode(Ping{7, "target", {127, 0, 0, 1}, 7946, "me"});
  EXPECT_EQ(feed_in_pieces(ping, 1, 3), ping.size());
  Bytes sealed = {static_cast<uint8_t>(MsgType::Encrypt), 0, 0, 1, 0};
  sealed.insert(sealed.end(), 256, 0xee);
  EXPECT_EQ(feed_in_pieces(sealed, 1, 3), sealed.size());
}

TEST(StreamFramer, ATrickledPushPullCostsLinearWork) {
  // ~800 KB in 8-byte reads: 100,000 calls. Parsing the prefix again on each call (the old
  // framing) is ~4e10 bytes of msgpack work, minutes; parsing each byte once is milliseconds.
  Bytes wire = push_pull(9000, 0);
  ASSERT_GT(wire.size(), 700000u);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(feed_in_pieces(wire, 8), wire.size());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

TEST(StreamFramer, RefusesWhatCannotBeAMessage) {
  StreamFramer unknown;
  EXPECT_THROW(unknown.length(Bytes{0x42}), kc::mp::DecodeError);
  StreamFramer huge;
  EXPECT_THROW(huge.length(Bytes{static_cast<uint8_t>(MsgType::Encrypt), 0xff, 0xff, 0xff, 0xff}),
               kc::mp::DecodeError);
  // A push/pull header claiming a negative number of nodes.
  Bytes bad{static_cast<uint8_t>(MsgType::PushPull)};
  encode_body(bad, PushPullHeader{-1, 0, false});
  StreamFramer negative;
  EXPECT_THROW(negative.length(bad), kc::mp::DecodeError);
  // Not msgpack at all after the type byte (0xc1 is never used).
  StreamFramer garbage;
  EXPECT_THROW(garbage.length(Bytes{static_cast<uint8_t>(MsgType::Ping), 0xc1}),
               kc::mp::DecodeError);
}

#include "agent/gossip/stream_framer.h"

#include <algorithm>
#include <msgpack.hpp>
#include <string>

#include "agent/gossip/envelope.h"
#include "agent/gossip/messages.h"
#include "common/msgpack/reader.h"

namespace kc::gossip {

struct StreamFramer::State {
  msgpack::unpacker parser{nullptr, nullptr, MSGPACK_UNPACKER_INIT_BUFFER_SIZE,
                           mp::network_limits()};
  size_t fed = 1;      // stream bytes given to the parser (objects start after the type byte)
  size_t objects = 0;  // complete objects parsed
  size_t want = 1;     // objects the message has: 1, or for a push/pull 1 + its nodes
  size_t tail = 0;     // raw bytes after the objects (push/pull user state, user message)
  std::optional<size_t> end;  // the message's length, once known
};

StreamFramer::StreamFramer() : s_(std::make_unique<State>()) {}
StreamFramer::~StreamFramer() = default;

namespace {

// Reads a push/pull or user-message header: sets how many objects and raw bytes follow.
void read_header(MsgType type, msgpack::object_handle&& obj, size_t& want, size_t& tail) {
  auto doc = mp::Document::adopt(std::move(obj));
  if (type == MsgType::PushPull) {
    auto h = decode_push_pull_header(doc.root());
    if (h.nodes < 0 || h.user_state_len < 0 || h.user_state_len > int64_t(kMaxStreamBytes) ||
        h.nodes > (1 << 20))
      throw mp::DecodeError("push/pull header out of range");
    want = 1 + size_t(h.nodes);
    tail = size_t(h.user_state_len);
  } else if (type == MsgType::User) {
    auto h = decode_user_msg_header(doc.root());
    if (h.user_msg_len < 0 || h.user_msg_len > int64_t(kMaxStreamBytes))
      throw mp::DecodeError("user message length out of range");
    tail = size_t(h.user_msg_len);
  }
}

}  // namespace

std::optional<size_t> StreamFramer::length(std::span<const uint8_t> data) {
  auto& s = *s_;
  auto done = [&]() -> std::optional<size_t> {
    if (s.end && data.size() >= *s.end) return s.end;
    return std::nullopt;
  };
  if (s.end || data.empty()) return done();
  const auto type = static_cast<MsgType>(data[0]);
  switch (type) {
    case MsgType::Encrypt: {
      if (data.size() < 5) return std::nullopt;
      size_t len = (size_t(data[1]) << 24) | (size_t(data[2]) << 16) | (size_t(data[3]) << 8) |
                   size_t(data[4]);
      if (len > kMaxStreamBytes) throw mp::DecodeError("encrypted stream frame too large");
      s.end = 5 + len;
      return done();
    }
    case MsgType::Compress:
    case MsgType::Ping:
    case MsgType::Ack:
    case MsgType::Err:
    case MsgType::PushPull:
    case MsgType::User:
      break;
    default:
      throw mp::DecodeError("unknown stream message type " + std::to_string(data[0]));
  }
  if (data.size() > s.fed) {
    size_t n = data.size() - s.fed;
    s.parser.reserve_buffer(n);
    std::copy(data.begin() + ptrdiff_t(s.fed), data.end(), s.parser.buffer());
    s.parser.buffer_consumed(n);
    s.fed = data.size();
  }
  try {
    while (s.objects < s.want) {
      msgpack::object_handle obj;
      if (!s.parser.next(obj)) return std::nullopt;
      if (++s.objects == 1) read_header(type, std::move(obj), s.want, s.tail);
    }
  } catch (const mp::DecodeError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw mp::DecodeError("msgpack: object too large");
  } catch (const std::exception& e) {
    throw mp::DecodeError(std::string("msgpack: ") + e.what());
  }
  // The parser stopped at the end of the last object: what it holds beyond is the tail.
  s.end = s.fed - s.parser.nonparsed_size() + s.tail;
  return done();
}

}  // namespace kc::gossip

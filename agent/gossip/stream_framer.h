// Where the first message of a gossip TCP stream ends, for a stream that arrives in reads of
// any size. Each byte is parsed once: a message is a type byte and msgpack objects (a push/pull
// header, then one object per node, then raw user state), and a streaming msgpack parser keeps
// its place inside an object between reads. Parsing the whole prefix again on every read would
// let a sender who trickles a large push/pull a few bytes per segment make the work quadratic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace kc::gossip {

class StreamFramer {
 public:
  StreamFramer();
  ~StreamFramer();
  StreamFramer(const StreamFramer&) = delete;
  StreamFramer& operator=(const StreamFramer&) = delete;

  // `data` is the stream read so far: what the previous call saw plus what arrived since.
  // Returns the length of its first message once complete, nullopt while more is needed.
  // Throws kc::mp::DecodeError when the data cannot be a message (the caller drops the stream).
  std::optional<size_t> length(std::span<const uint8_t> data);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace kc::gossip

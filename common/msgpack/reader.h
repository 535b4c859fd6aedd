// Lenient msgpack decoding in the manner of go-msgpack (docs/wire.md, "msgpack dialects"): any key
// order, unknown keys ignored, missing keys and nil give zero values, strings accept the str
// family, byte slices accept str or bin, integers any width (checked against the field's
// width), bools also 0/1, floats also integers. Parsing is done by msgpack-cxx with size
// and depth limits so that a short hostile input cannot claim gigabytes.
#pragma once

#include <cstdint>
#include <memory>
#include <msgpack.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kc::mp {

using Bytes = std::vector<uint8_t>;

// Malformed or mistyped input. The message names the field when known.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The input ends before the object does (only meaningful for stream parsing).
class NeedMoreData : public DecodeError {
 public:
  NeedMoreData() : DecodeError("msgpack: unexpected end of input") {}
};

// A view of one decoded msgpack value; valid while its Document lives.
class Value {
 public:
  Value() = default;
  explicit Value(const msgpack::object* o) : o_(o) {}

  bool is_nil() const;
  bool is_map() const;
  bool is_array() const;

  std::string string() const;            // str family (or nil → ""); bin is an error, as in Go
  std::string_view string_view() const;  // the same, in place (see Parser for how long)
  Bytes bytes() const;                   // str, bin, array of small ints, or nil → empty
  // A str's or bin's bytes in place (nil → empty); nullopt for an array of small ints, which
  // has no contiguous bytes (bytes() decodes it).
  std::optional<std::span<const uint8_t>> byte_view() const;
  uint64_t uint(uint64_t max = UINT64_MAX) const;
  uint32_t u32() const { return static_cast<uint32_t>(uint(UINT32_MAX)); }
  uint16_t u16() const { return static_cast<uint16_t>(uint(UINT16_MAX)); }
  uint8_t u8() const { return static_cast<uint8_t>(uint(UINT8_MAX)); }
  int64_t sint() const;
  bool boolean() const;
  double f64() const;

  // Map field by exact key; a missing key (or a nil map) gives a nil Value.
  Value get(std::string_view key) const;
  bool has(std::string_view key) const;
  // Array elements (nil → none).
  std::vector<Value> items() const;
  // Map entries with string keys (nil → none).
  std::vector<std::pair<std::string, Value>> entries() const;

 private:
  static void require(bool ok, const char* what);
  const msgpack::object* o_ = nullptr;
};

// Owns one decoded object.
// Limits for every decode of network input, sized for the largest legitimate messages: a
// push/pull of a few thousand nodes, an event ring of 512 slots, RPC member lists.
msgpack::unpack_limit network_limits();

class Document {
 public:
  // Decodes one object from data[offset...], advancing offset past it.
  // Throws NeedMoreData when the data ends early, DecodeError when it is malformed.
  static Document parse(std::span<const uint8_t> data, size_t& offset);
  // Decodes exactly one object that must span all of `data`... or at least start it:
  // trailing bytes are allowed and ignored (as Go's decoder on a buffer does).
  static Document parse(std::span<const uint8_t> data) {
    size_t off = 0;
    return parse(data, off);
  }
  // An object a streaming parser (msgpack::unpacker) has already decoded.
  static Document adopt(msgpack::object_handle&& handle) {
    Document doc;
    doc.handle_ = std::make_shared<msgpack::object_handle>(std::move(handle));
    return doc;
  }
  Value root() const { return Value(&handle_->get()); }

 private:
  std::shared_ptr<msgpack::object_handle> handle_;
};

// Decodes many objects one after another into one reused zone, for a receive path that turns
// each object into its own types at once (a datagram's message, each node of a push/pull).
// Document::parse allocates a zone (an 8 KiB chunk) and copies every string per object; a
// member decoding a 1,000-node push/pull did that 1,000 times. A Value from parse() points
// into this parser's zone and into `data` (strings are not copied): it is valid until the
// next parse() and while `data` lives. Same limits and errors as Document::parse.
class Parser {
 public:
  Value parse(std::span<const uint8_t> data, size_t& offset);
  Value parse(std::span<const uint8_t> data) {
    size_t off = 0;
    return parse(data, off);
  }

 private:
  // A gossip message or one push/pull node decodes to a few hundred bytes of objects; larger
  // objects take more chunks, freed at the next parse. Small, since a simulation holds one
  // parser per member.
  static constexpr size_t kChunkBytes = 1024;
  msgpack::zone zone_{kChunkBytes};
  msgpack::object root_;
};

}  // namespace kc::mp

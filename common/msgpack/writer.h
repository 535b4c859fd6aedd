// A msgpack writer that reproduces the bytes of hashicorp/go-msgpack 0.5.5, in the two
// dialects Serf uses (docs/wire.md, "msgpack dialects"):
//   Gossip (memberlist and serf messages): strings AND byte slices use the old raw family
//     (fixstr, da/u16, db/u32; never d9, never bin).
//   Rpc (the agent's IPC): strings use fixstr/d9/da/db and byte slices use bin.
// Integers always take the smallest form by value (positive signed values as unsigned).
// Struct encoders emit map keys sorted by Go field name; that order is the caller's job.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace kc::mp {

using Bytes = std::vector<uint8_t>;

enum class Dialect { Gossip, Rpc };

class Writer {
 public:
  explicit Writer(Bytes& out, Dialect dialect = Dialect::Gossip) : out_(out), dialect_(dialect) {}

  Writer& map(size_t entries);
  Writer& array(size_t elements);
  Writer& str(std::string_view s);
  Writer& bytes(std::span<const uint8_t> b);
  // Go's nil []byte (c0) when empty, as go-msgpack encodes a nil slice.
  Writer& bytes_or_nil(std::span<const uint8_t> b);
  Writer& uint(uint64_t v);
  Writer& sint(int64_t v);
  Writer& boolean(bool v);
  Writer& f64(double v);
  Writer& nil();
  // Appends already-encoded msgpack (or raw payload bytes) unchanged.
  Writer& raw(std::span<const uint8_t> b);

  // key + value helpers for struct encoders: w.key("Node").str(name)
  Writer& key(std::string_view k) { return str(k); }

  Dialect dialect() const { return dialect_; }

 private:
  void put(uint8_t b) { out_.push_back(b); }
  void put_be(uint64_t v, int nbytes);
  void raw_header(size_t len);

  Bytes& out_;
  Dialect dialect_;
};

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace kc::mp

// Finding where one msgpack object ends in a byte stream, without decoding it.
//
// The RPC has no length prefixes (docs/wire.md, "The agent RPC"): requests are back-to-back msgpack
// objects. Before handing bytes to the decoder we want to know whether a whole object has
// arrived, and to reject objects that claim to be larger than we accept *before* buffering
// them. The scan also yields a lower bound on the bytes still needed, so a peer that drips
// a large object byte by byte does not make us rescan the buffer on every read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kc::serf_client {

struct FrameScan {
  enum class Status {
    Complete,    // `length` bytes hold one object
    Incomplete,  // more input is needed: at least `needed` bytes in total
    TooLarge,    // the object would exceed the size limit
    Invalid,     // a byte that starts no msgpack object (c1) or nesting too deep
  };
  Status status = Status::Incomplete;
  size_t length = 0;
  size_t needed = 0;
};

// Scans the object starting at data[0]. `max_size` bounds the object's total encoded size,
// `max_depth` the nesting of arrays and maps (the decoder's own limit is 32).
FrameScan scan_object(std::span<const uint8_t> data, size_t max_size, size_t max_depth = 32);

}  // namespace kc::serf_client

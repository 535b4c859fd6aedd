#include "agent/rpc/frame.h"

#include <array>

namespace kc::rpc {

namespace {

struct Head {
  size_t header = 1;      // bytes of type byte + length field
  uint64_t payload = 0;   // raw bytes after the header (str, bin, ext, numbers)
  uint64_t children = 0;  // objects that follow (array elements, map keys + values)
  bool valid = true;
};

// Size of the length field for the variable-size types, 0 for fixed ones.
Head classify(uint8_t b) {
  Head h;
  if (b <= 0x7f || b >= 0xe0) return h;                 // fixints
  if (b <= 0x8f) return h.children = 2u * (b & 0x0f), h;  // fixmap
  if (b <= 0x9f) return h.children = b & 0x0f, h;         // fixarray
  if (b <= 0xbf) return h.payload = b & 0x1f, h;          // fixstr
  switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return h;
    case 0xc1: h.valid = false; return h;
    case 0xc4: case 0xd9: h.header = 2; return h;  // bin8, str8
    case 0xc5: case 0xda: h.header = 3; return h;  // bin16, str16
    case 0xc6: case 0xdb: h.header = 5; return h;  // bin32, str32
    case 0xc7: h.header = 3; return h;             // ext8: len + type
    case 0xc8: h.header = 4; return h;             // ext16
    case 0xc9: h.header = 6; return h;             // ext32
    case 0xca: h.payload = 4; return h;
    case 0xcb: h.payload = 8; return h;
    case 0xcc: case 0xd0: h.payload = 1; return h;
    case 0xcd: case 0xd1: h.payload = 2; return h;
    case 0xce: case 0xd2: h.payload = 4; return h;
    case 0xcf: case 0xd3: h.payload = 8; return h;
    case 0xd4: h.payload = 2; return h;  // fixext1: type + 1
    case 0xd5: h.payload = 3; return h;
    case 0xd6: h.payload = 5; return h;
    case 0xd7: h.payload = 9; return h;
    case 0xd8: h.payload = 17; return h;
    case 0xdc: h.header = 3; return h;  // array16
    case 0xdd: h.header = 5; return h;  // array32
    case 0xde: h.header = 3; return h;  // map16
    case 0xdf: h.header = 5; return h;  // map32
    default: h.valid = false; return h;
  }
}

uint64_t read_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Fills in the length that follows the type byte of a variable-size type.
void decode_length(uint8_t b, const uint8_t* len, Head& h) {
  switch (b) {
    case 0xc4: case 0xd9: case 0xc5: case 0xda: case 0xc6: case 0xdb:
      h.payload = read_be(len, h.header - 1);
      break;
    case 0xc7: case 0xc8: case 0xc9:  // ext: length, then a type byte counted in the header
      h.payload = read_be(len, h.header - 2);
      break;
    case 0xdc: case 0xdd: h.children = read_be(len, h.header - 1); break;
    case 0xde: case 0xdf: h.children = 2 * read_be(len, h.header - 1); break;
    default: break;
  }
}

}  // namespace

FrameScan scan_object(std::span<const uint8_t> data, size_t max_size, size_t max_depth) {
  constexpr size_t kStack = 64;
  if (max_depth > kStack) max_depth = kStack;
  std::array<uint64_t, kStack> left{};  // items still to read in each open container
  size_t depth = 0;
  uint64_t outstanding = 0;  // sum of `left`: every pending item needs at least one byte
  size_t pos = 0;

  auto need = [&](uint64_t here) {
    uint64_t needed = pos + here + outstanding;
    if (needed > max_size) return FrameScan{FrameScan::Status::TooLarge, 0, 0};
    return FrameScan{FrameScan::Status::Incomplete, 0, static_cast<size_t>(needed)};
  };

  while (true) {
    // The item about to be read leaves its container's count now, so `outstanding` only
    // counts the items after it.
    if (depth > 0) {
      --left[depth - 1];
      --outstanding;
    }
    if (pos >= data.size()) return need(1);
    uint8_t b = data[pos];
    Head h = classify(b);
    if (!h.valid) return {FrameScan::Status::Invalid, 0, 0};
    if (data.size() - pos < h.header) return need(h.header);
    decode_length(b, data.data() + pos + 1, h);
    uint64_t size = h.header + h.payload;
    if (pos + size > max_size) return {FrameScan::Status::TooLarge, 0, 0};
    if (data.size() - pos < size) return need(size);
    pos += size;

    if (h.children > 0) {
      if (depth >= max_depth) return {FrameScan::Status::Invalid, 0, 0};
      if (pos + outstanding + h.children > max_size) return {FrameScan::Status::TooLarge, 0, 0};
      left[depth++] = h.children;
      outstanding += h.children;
    }
    while (depth > 0 && left[depth - 1] == 0) --depth;
    if (depth == 0) return {FrameScan::Status::Complete, pos, pos};
  }
}

}  // namespace kc::rpc

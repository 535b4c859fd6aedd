#include "serf_client/frame.h"

#include <array>

namespace kc::serf_client {

namespace {

struct Head {
  size_t header = 1;      // bytes of type byte + length field
  uint64_t payload = 0;   // raw bytes after the header (str, bin, ext, numbers)
  uint64_t children = 0;  // objects that follow (array elements, map keys + values)
  bool valid = true;
};

// The type bytes c0..df. `header` counts the type byte and any length field (for ext also
// the ext type byte); `payload` is the fixed size of what follows; `length` says where the
// variable size comes from.
enum class Length : uint8_t { None, Raw, Array, Map, Bad };
struct Form {
  uint8_t header;
  uint8_t payload;
  Length length;
};
// clang-format off
constexpr Form kForms[32] = {
    {1, 0, Length::None}, {1, 0, Length::Bad}, {1, 0, Length::None}, {1, 0, Length::None},  // c0-c3
    {2, 0, Length::Raw}, {3, 0, Length::Raw}, {5, 0, Length::Raw},                         // bin
    {3, 0, Length::Raw}, {4, 0, Length::Raw}, {6, 0, Length::Raw},                         // ext
    {1, 4, Length::None}, {1, 8, Length::None},                                            // float
    {1, 1, Length::None}, {1, 2, Length::None}, {1, 4, Length::None}, {1, 8, Length::None},  // uint
    {1, 1, Length::None}, {1, 2, Length::None}, {1, 4, Length::None}, {1, 8, Length::None},  // int
    {1, 2, Length::None}, {1, 3, Length::None}, {1, 5, Length::None}, {1, 9, Length::None},  // fext
    {1, 17, Length::None},
    {2, 0, Length::Raw}, {3, 0, Length::Raw}, {5, 0, Length::Raw},                         // str
    {3, 0, Length::Array}, {5, 0, Length::Array},                                          // array
    {3, 0, Length::Map}, {5, 0, Length::Map},                                              // map
};
// clang-format on

uint64_t read_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Decodes the type byte at p[0]; `avail` bytes are readable. Returns false when the header
// itself is not complete yet (h.header tells how much is needed).
bool classify(const uint8_t* p, size_t avail, Head& h) {
  uint8_t b = p[0];
  if (b <= 0x7f || b >= 0xe0) return true;  // fixints
  if (b <= 0x8f) return h.children = uint64_t{2} * (b & 0x0f), true;
  if (b <= 0x9f) return h.children = b & 0x0f, true;
  if (b <= 0xbf) return h.payload = b & 0x1f, true;
  const Form& f = kForms[b - 0xc0];
  h.header = f.header;
  h.payload = f.payload;
  if (f.length == Length::Bad) h.valid = false;
  if (f.length == Length::None || f.length == Length::Bad) return true;
  if (avail < h.header) return false;
  bool ext = b >= 0xc7 && b <= 0xc9;  // the ext type byte follows the length
  uint64_t n = read_be(p + 1, h.header - 1 - (ext ? 1 : 0));
  if (f.length == Length::Raw)
    h.payload = n;
  else
    h.children = f.length == Length::Map ? 2 * n : n;
  return true;
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
    Head h;
    if (!classify(data.data() + pos, data.size() - pos, h)) return need(h.header);
    if (!h.valid) return {FrameScan::Status::Invalid, 0, 0};
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

}  // namespace kc::serf_client

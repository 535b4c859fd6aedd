#include "agent/gossip/codec/lzw.h"

#include <algorithm>
#include <array>
#include <memory>

namespace kc::gossip {
namespace {

constexpr uint32_t kClear = 256;  // 1 << litWidth
constexpr uint32_t kEof = 257;
constexpr uint32_t kFirstWidth = 9;
constexpr uint32_t kMaxWidth = 12;
constexpr uint32_t kMaxCode = (1u << kMaxWidth) - 1;  // 4095

// Packs codes LSB-first, as Go's writeLSB.
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out) {}

  void write(uint32_t code, uint32_t width) {
    bits_ |= code << nbits_;
    nbits_ += width;
    while (nbits_ >= 8) {
      out_.push_back(static_cast<uint8_t>(bits_));
      bits_ >>= 8;
      nbits_ -= 8;
    }
  }

  void flush() {
    if (nbits_ > 0) out_.push_back(static_cast<uint8_t>(bits_));
    bits_ = 0;
    nbits_ = 0;
  }

 private:
  std::vector<uint8_t>& out_;
  uint32_t bits_ = 0;
  uint32_t nbits_ = 0;
};

// The encoder mirrors Go's writer.go step by step (including its open-addressed table of
// (prefix code, byte) -> code) because byte-identical output depends on exactly when codes,
// width changes and clear codes are emitted, not on how the dictionary is stored.
class Encoder {
 public:
  explicit Encoder(std::vector<uint8_t>& out) : writer_(out) { table_.fill(kEmpty); }

  void run(std::span<const uint8_t> input) {
    // Go >= 1.17 always starts with a clear code (GIF spec appendix F).
    writer_.write(kClear, width_);
    if (input.empty()) {
      finish();
      return;
    }
    uint32_t code = input[0];
    for (uint8_t literal : input.subspan(1)) {
      const uint32_t key = code << 8 | literal;
      uint32_t hash = (key >> 12 ^ key) & kTableMask;
      bool hit = false;
      for (uint32_t h = hash; table_[h] != kEmpty; h = (h + 1) & kTableMask) {
        if (table_[h] >> 12 == key) {
          code = table_[h] & kMaxCode;
          hit = true;
          break;
        }
      }
      if (hit) continue;
      writer_.write(code, width_);
      code = literal;
      if (!inc_hi()) continue;  // table was just reset: nothing to insert
      while (table_[hash] != kEmpty) hash = (hash + 1) & kTableMask;
      table_[hash] = key << 12 | hi_;
    }
    writer_.write(code, width_);
    inc_hi();
    finish();
  }

 private:
  static constexpr uint32_t kTableSize = 4 * (1u << kMaxWidth);
  static constexpr uint32_t kTableMask = kTableSize - 1;
  static constexpr uint32_t kEmpty = 0;  // a real entry always has hi >= 258 in its low bits

  // Go's incHi: returns false when the codes ran out and the encoder reset itself.
  bool inc_hi() {
    ++hi_;
    if (hi_ == overflow_) {
      ++width_;
      overflow_ <<= 1;
    }
    if (hi_ == kMaxCode) {
      writer_.write(kClear, width_);
      width_ = kFirstWidth;
      hi_ = kEof;
      overflow_ = 1u << kFirstWidth;
      table_.fill(kEmpty);
      return false;
    }
    return true;
  }

  void finish() {
    writer_.write(kEof, width_);
    writer_.flush();
  }

  BitWriter writer_;
  uint32_t width_ = kFirstWidth;
  uint32_t hi_ = kEof;
  uint32_t overflow_ = 1u << kFirstWidth;
  std::array<uint32_t, kTableSize> table_;
};

// Mirrors Go's reader.go decode(), including its quirks (a code equal to hi after the table
// is full expands the stale entry; no leading clear code is required).
class Decoder {
 public:
  Decoder(std::span<const uint8_t> input, size_t max_output) : in_(input), max_(max_output) {}

  std::optional<std::vector<uint8_t>> run() {
    out_.reserve(std::min(max_, in_.size() * 4 + 16));
    for (;;) {
      auto next = read_code();
      if (!next) return std::nullopt;  // ran out of input before the EOF code
      const uint32_t code = *next;
      if (code < kClear) {
        const auto literal = static_cast<uint8_t>(code);
        if (!emit(std::span<const uint8_t>(&literal, 1))) return std::nullopt;
        if (last_ != kInvalid) define(static_cast<uint8_t>(code));
      } else if (code == kClear) {
        width_ = kFirstWidth;
        hi_ = kEof;
        overflow_ = 1u << kFirstWidth;
        last_ = kInvalid;
        continue;
      } else if (code == kEof) {
        return std::move(out_);
      } else if (code <= hi_) {
        if (!expand(code)) return std::nullopt;
      } else {
        return std::nullopt;  // lzw: invalid code
      }
      last_ = code;
      ++hi_;
      if (hi_ >= overflow_) {
        if (width_ == kMaxWidth) {
          // Table full: keep hi < overflow and stop defining codes until the next clear.
          last_ = kInvalid;
          --hi_;
        } else {
          ++width_;
          overflow_ = 1u << width_;
        }
      }
    }
  }

 private:
  static constexpr uint32_t kInvalid = 0xffff;

  std::optional<uint32_t> read_code() {
    while (nbits_ < width_) {
      if (pos_ >= in_.size()) return std::nullopt;
      bits_ |= static_cast<uint32_t>(in_[pos_++]) << nbits_;
      nbits_ += 8;
    }
    const uint32_t code = bits_ & ((1u << width_) - 1);
    bits_ >>= width_;
    nbits_ -= width_;
    return code;
  }

  // Entry hi = (last code's string) + first byte of the current string.
  void define(uint8_t first) {
    suffix_[hi_] = first;
    prefix_[hi_] = static_cast<uint16_t>(last_);
  }

  bool expand(uint32_t code) {
    // Strings are built backwards from the end of buf_; every prefix link points to a
    // smaller code, so a chain is shorter than the table, but stay bounds-checked anyway.
    size_t i = buf_.size();
    uint32_t c = code;
    if (code == hi_ && last_ != kInvalid) {
      // The KwKwK case: last string followed by its own first byte.
      c = last_;
      while (c >= kClear) c = prefix_[c];
      buf_[--i] = static_cast<uint8_t>(c);
      c = last_;
    }
    while (c >= kClear) {
      if (i <= 1) return false;
      buf_[--i] = suffix_[c];
      c = prefix_[c];
    }
    buf_[--i] = static_cast<uint8_t>(c);
    if (!emit(std::span<const uint8_t>(buf_).subspan(i))) return false;
    if (last_ != kInvalid) define(static_cast<uint8_t>(c));
    return true;
  }

  bool emit(std::span<const uint8_t> bytes) {
    if (bytes.size() > max_ - out_.size()) return false;
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return true;
  }

  std::span<const uint8_t> in_;
  size_t max_;
  size_t pos_ = 0;
  uint32_t bits_ = 0;
  uint32_t nbits_ = 0;
  uint32_t width_ = kFirstWidth;
  uint32_t hi_ = kEof;
  uint32_t overflow_ = 1u << kFirstWidth;
  uint32_t last_ = kInvalid;
  std::array<uint16_t, 1u << kMaxWidth> prefix_{};
  std::array<uint8_t, 1u << kMaxWidth> suffix_{};
  std::array<uint8_t, 2u << kMaxWidth> buf_{};
  std::vector<uint8_t> out_;
};

}  // namespace

std::vector<uint8_t> lzw_compress(std::span<const uint8_t> input) {
  std::vector<uint8_t> out;
  out.reserve(input.size() / 2 + 8);
  auto encoder = std::make_unique<Encoder>(out);  // 64 KiB table: keep it off the stack
  encoder->run(input);
  return out;
}

std::optional<std::vector<uint8_t>> lzw_decompress(std::span<const uint8_t> input,
                                                   size_t max_output) {
  auto decoder = std::make_unique<Decoder>(input, max_output);
  return decoder->run();
}

}  // namespace kc::gossip

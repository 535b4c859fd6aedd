// Interned strings: one copy per process of each distinct member name or metadata, however
// many tables, broadcasts and timers refer to it. A simulation of N members in one process
// holds N² member entries, yet only N names; a real agent keeps its table's names once
// instead of once per table plus once per index and queued broadcast. Reference counted:
// the last handle to go frees the text, so churning pod names do not accumulate.
// Handles may be copied and dropped on any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace kc::gossip {

class Interned {
 public:
  Interned() = default;  // the empty string, which needs no record
  explicit Interned(std::string_view text);
  explicit Interned(std::span<const uint8_t> bytes)
      : Interned(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())) {}
  Interned(const Interned& o) noexcept : rec_(o.rec_) { retain(); }
  Interned(Interned&& o) noexcept : rec_(o.rec_) { o.rec_ = nullptr; }
  Interned& operator=(const Interned& o) noexcept;
  Interned& operator=(Interned&& o) noexcept;
  ~Interned() { release(); }

  const std::string& str() const { return rec_ ? rec_->text : empty_text(); }
  std::string_view view() const { return rec_ ? std::string_view(rec_->text) : std::string_view(); }
  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(str().data()), str().size()};
  }
  bool empty() const { return rec_ == nullptr; }
  // std::hash<std::string_view> of the text, computed once.
  size_t hash() const { return rec_ ? rec_->hash : std::hash<std::string_view>{}({}); }

  // One record per distinct text: equal texts are the same record.
  bool operator==(const Interned& o) const { return rec_ == o.rec_; }
  bool operator==(std::string_view text) const { return view() == text; }

  // Distinct texts alive in this process (tests: nothing leaks when names churn).
  static size_t live_count();

 private:
  struct Record {
    std::atomic<uint32_t> refs{1};
    size_t hash = 0;
    std::string text;
  };
  static const std::string& empty_text();
  void retain() const noexcept;
  void release() noexcept;
  Record* rec_ = nullptr;
};

}  // namespace kc::gossip

template <>
struct std::hash<kc::gossip::Interned> {
  size_t operator()(const kc::gossip::Interned& s) const { return s.hash(); }
};

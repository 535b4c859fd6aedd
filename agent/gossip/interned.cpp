#include "agent/gossip/interned.h"

#include <mutex>
#include <unordered_map>

namespace kc::gossip {

namespace {

// Lookups and the release of a last reference take the lock; a copy only increments the count
// (its source holds a reference, so the record cannot be freed meanwhile) and any other release
// only decrements it.
struct Table {
  std::mutex mu;
  std::unordered_map<std::string_view, void*> by_text;  // views into the records' text
};

Table& table() {
  static auto* t = new Table;  // never destroyed: handles in static objects may outlive it
  return *t;
}

}  // namespace

const std::string& Interned::empty_text() {
  static const std::string empty;
  return empty;
}

Interned::Interned(std::string_view text) {
  if (text.empty()) return;
  auto& t = table();
  std::lock_guard lock(t.mu);
  if (auto it = t.by_text.find(text); it != t.by_text.end()) {
    rec_ = static_cast<Record*>(it->second);
    rec_->refs.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  rec_ = new Record;
  rec_->text.assign(text);
  rec_->hash = std::hash<std::string_view>{}(rec_->text);
  t.by_text.emplace(rec_->text, rec_);
}

Interned& Interned::operator=(const Interned& o) noexcept {
  if (this != &o && rec_ != o.rec_) {
    o.retain();
    release();
    rec_ = o.rec_;
  }
  return *this;
}

Interned& Interned::operator=(Interned&& o) noexcept {
  if (this != &o) {
    release();
    rec_ = o.rec_;
    o.rec_ = nullptr;
  }
  return *this;
}

void Interned::retain() const noexcept {
  if (rec_) rec_->refs.fetch_add(1, std::memory_order_relaxed);
}

void Interned::release() noexcept {
  if (!rec_) return;
  // Not the last reference: no lock (the count cannot reach zero here, only under the lock).
  uint32_t refs = rec_->refs.load(std::memory_order_relaxed);
  while (refs > 1)
    if (rec_->refs.compare_exchange_weak(refs, refs - 1, std::memory_order_acq_rel)) {
      rec_ = nullptr;
      return;
    }
  auto& t = table();
  {
    std::lock_guard lock(t.mu);
    if (rec_->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) {
      rec_ = nullptr;
      return;
    }
    t.by_text.erase(rec_->text);
  }
  delete rec_;
  rec_ = nullptr;
}

size_t Interned::live_count() {
  auto& t = table();
  std::lock_guard lock(t.mu);
  return t.by_text.size();
}

}  // namespace kc::gossip

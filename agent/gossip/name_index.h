// Entries by name without a second copy of the name: an open-addressing table (linear
// probing, backward-shift deletion) of pointers to entries whose `name` is Interned, so the
// hash is computed once per distinct name. 8 to 16 bytes per entry at its load factor,
// where a std::unordered_map<std::string, T*> costs a node with the name in it (~70 bytes).
// Assumes user-space addresses fit in 48 bits (x86-64 and arm64 Linux with 4-level tables;
// checked where an entry is inserted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace kc::gossip {

template <typename Entry>
class NameIndex {
 public:
  Entry* find(std::string_view name) const {
    if (slots_.empty()) return nullptr;
    size_t hash = std::hash<std::string_view>{}(name);
    for (size_t i = hash & mask();; i = (i + 1) & mask()) {
      uintptr_t slot = slots_[i];
      if (!slot) return nullptr;
      if (tag_of(slot) != tag(hash)) continue;
      Entry* e = entry_of(slot);
      if (e->name.view() == name) return e;
    }
  }

  // `e`'s name must not be in the index yet.
  void insert(Entry* e) {
    if ((used_ + 1) * 4 > slots_.size() * 3) grow();
    place(e);
    ++used_;
  }

  void erase(std::string_view name) {
    if (slots_.empty()) return;
    size_t hash = std::hash<std::string_view>{}(name);
    size_t i = hash & mask();
    for (;; i = (i + 1) & mask()) {
      if (!slots_[i]) return;
      if (tag_of(slots_[i]) == tag(hash) && entry_of(slots_[i])->name.view() == name) break;
    }
    // Backward shift: move later members of the cluster into the hole when their home slot
    // does not lie (cyclically) between the hole and where they are.
    for (size_t hole = i, j = (i + 1) & mask();; j = (j + 1) & mask()) {
      if (!slots_[j]) {
        slots_[hole] = 0;
        break;
      }
      size_t home = entry_of(slots_[j])->name.hash() & mask();
      bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    --used_;
  }

  size_t size() const { return used_; }

 private:
  // A slot is the entry's address with the top 16 bits of its name's hash in the (unused)
  // top 16 bits of the pointer: a probe past another name rarely has to read its entry.
  static constexpr int kTagShift = 48;
  static constexpr uintptr_t kAddressMask = (uintptr_t(1) << kTagShift) - 1;
  static uintptr_t tag(size_t hash) { return uintptr_t(hash >> kTagShift); }
  static uintptr_t tag_of(uintptr_t slot) { return slot >> kTagShift; }
  static Entry* entry_of(uintptr_t slot) {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the slot is a tagged pointer by design.
    return reinterpret_cast<Entry*>(slot & kAddressMask);
  }
  static uintptr_t slot_of(Entry* e) {
    static_assert(sizeof(uintptr_t) == 8, "NameIndex packs a tag into 64-bit pointers");
    // Linux hands out addresses above 47 bits only to mmap calls that ask for them.
    if (reinterpret_cast<uintptr_t>(e) & ~kAddressMask)
      throw std::logic_error("NameIndex: an entry address beyond 48 bits");
    return reinterpret_cast<uintptr_t>(e) | (tag(e->name.hash()) << kTagShift);
  }

  size_t mask() const { return slots_.size() - 1; }
  void place(Entry* e) {
    size_t i = e->name.hash() & mask();
    while (slots_[i]) i = (i + 1) & mask();
    slots_[i] = slot_of(e);
  }
  void grow() {
    std::vector<uintptr_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
    for (uintptr_t slot : old)
      if (slot) place(entry_of(slot));
  }

  std::vector<uintptr_t> slots_;  // size a power of two, at most 3/4 full; 0 is empty
  size_t used_ = 0;
};

}  // namespace kc::gossip

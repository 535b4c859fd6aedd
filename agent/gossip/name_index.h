// Entries by name without a second copy of the name: an open-addressing table (linear
// probing, backward-shift deletion) of pointers to entries whose `name` is Interned, so the
// hash is computed once per distinct name. About 12 bytes per entry at its load factor,
// where a std::unordered_map<std::string, T*> costs a node with the name in it (~70 bytes).
#pragma once

#include <cstddef>
#include <functional>
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
      Entry* e = slots_[i];
      if (!e) return nullptr;
      if (e->name.hash() == hash && e->name.view() == name) return e;
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
      if (slots_[i]->name.hash() == hash && slots_[i]->name.view() == name) break;
    }
    // Backward shift: move later members of the cluster into the hole when their home slot
    // does not lie (cyclically) between the hole and where they are.
    for (size_t hole = i, j = (i + 1) & mask();; j = (j + 1) & mask()) {
      if (!slots_[j]) {
        slots_[hole] = nullptr;
        break;
      }
      size_t home = slots_[j]->name.hash() & mask();
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
  size_t mask() const { return slots_.size() - 1; }
  void place(Entry* e) {
    size_t i = e->name.hash() & mask();
    while (slots_[i]) i = (i + 1) & mask();
    slots_[i] = e;
  }
  void grow() {
    std::vector<Entry*> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, nullptr);
    for (Entry* e : old)
      if (e) place(e);
  }

  std::vector<Entry*> slots_;  // size a power of two, at most 3/4 full
  size_t used_ = 0;
};

}  // namespace kc::gossip

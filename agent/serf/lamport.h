// Serf's Lamport clocks (lamport.go). Everything runs on the event loop, so no atomics.
#pragma once

#include <cstdint>

namespace kc::serf {

using LamportTime = uint64_t;

class LamportClock {
 public:
  LamportTime time() const { return counter_; }
  LamportTime increment() { return ++counter_; }
  // Go's Witness: a value below ours changes nothing; otherwise we move one past it, so the
  // next message we stamp is ordered after the one we saw.
  void witness(LamportTime v) {
    if (v < counter_) return;
    counter_ = v + 1;
  }

 private:
  LamportTime counter_ = 0;
};

}  // namespace kc::serf

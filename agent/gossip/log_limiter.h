// At most `burst` log lines per `window` for one kind of event, so that a flood of hostile
// packets cannot flood the log too. The first line after a quiet window says how many were
// left out.
#pragma once

#include <cstdint>

#include "agent/gossip/types.h"

namespace kc::gossip {

class LogLimiter {
 public:
  explicit LogLimiter(int burst = 5, Duration window = std::chrono::minutes(1))
      : burst_(burst), window_(window) {}

  // Whether to log this occurrence; `suppressed` is set to the lines left out since the last
  // one logged (to be mentioned in it).
  bool allow(TimePoint now, uint64_t& suppressed) {
    if (now - window_start_ >= window_ || used_ == 0) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++suppressed_;
      return false;
    }
    ++used_;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  int burst_;
  Duration window_;
  TimePoint window_start_{};
  int used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace kc::gossip

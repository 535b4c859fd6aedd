// A token bucket on the scheduler's clock: `burst` tokens, one more every `interval`.
#pragma once

#include <algorithm>

#include "agent/gossip/types.h"

namespace kc::gossip {

class TokenBucket {
 public:
  TokenBucket(int burst, Duration interval) : burst_(std::max(burst, 0)), interval_(interval) {}

  // Takes a token if one is left at `now`.
  bool take(TimePoint now) {
    if (!started_) {
      started_ = true;
      tokens_ = burst_;
      last_ = now;
    }
    if (interval_ > Duration::zero() && now > last_) {
      auto earned = (now - last_) / interval_;
      if (earned > 0) {
        tokens_ = int(std::min<int64_t>(burst_, tokens_ + earned));
        last_ += earned * interval_;
        if (tokens_ == burst_) last_ = now;
      }
    }
    if (tokens_ <= 0) return false;
    --tokens_;
    return true;
  }

 private:
  int burst_;
  Duration interval_;
  int tokens_ = 0;
  TimePoint last_{};
  bool started_ = false;
};

}  // namespace kc::gossip

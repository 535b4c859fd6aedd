// Lifeguard's suspicion timer (memberlist suspicion.go): starts at max when
// confirmations are expected (k ≥ 1) and shrinks logarithmically towards min with each
// independent confirmation; fires `on_timeout(confirmations)` when it runs out.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "agent/gossip/runtime.h"

namespace kc::gossip {

// SuspicionMult × max(1, log10(max(1, n))) × interval, computed at millisecond precision.
Duration suspicion_timeout(int suspicion_mult, size_t n, Duration interval);
// The timeout after `confirmations` of `k` expected, before subtracting the elapsed time.
Duration suspicion_remaining(int confirmations, int k, Duration elapsed, Duration min,
                             Duration max);

class Suspicion {
 public:
  Suspicion(Scheduler& sched, const std::string& from, int k, Duration min, Duration max,
            std::function<void(int confirmations)> on_timeout);
  // A new independent accuser: true when it counted (and the timer was shortened).
  bool confirm(const std::string& from);
  int confirmations() const { return n_; }

 private:
  Scheduler& sched_;
  int k_;
  int n_ = 0;
  Duration min_, max_;
  TimePoint start_;
  std::set<std::string> accusers_;
  std::function<void(int)> on_timeout_;
  Timer timer_;
};

// Local health (Lifeguard's awareness): 0 is healthy; timeouts scale by (score + 1).
class Awareness {
 public:
  explicit Awareness(int max_multiplier) : max_(max_multiplier) {}
  void apply_delta(int delta);
  int score() const { return score_; }
  Duration scale(Duration d) const { return d * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace kc::gossip

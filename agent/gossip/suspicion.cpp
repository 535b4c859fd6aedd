#include "agent/gossip/suspicion.h"

#include <algorithm>
#include <cmath>

namespace kc::gossip {

Duration suspicion_timeout(int suspicion_mult, size_t n, Duration interval) {
  double node_scale = std::max(1.0, std::log10(std::max(1.0, double(n))));
  // Go: time.Duration(mult) * time.Duration(nodeScale*1000) * interval / 1000
  auto scaled_ms = static_cast<int64_t>(node_scale * 1000);
  return Duration(int64_t(suspicion_mult) * scaled_ms * interval.count() / 1000);
}

Duration suspicion_remaining(int confirmations, int k, Duration elapsed, Duration min,
                             Duration max) {
  double frac = std::log(double(confirmations) + 1.0) / std::log(double(k) + 1.0);
  double max_s = std::chrono::duration<double>(max).count();
  double min_s = std::chrono::duration<double>(min).count();
  double raw = max_s - frac * (max_s - min_s);
  Duration timeout = std::chrono::milliseconds(static_cast<int64_t>(std::floor(1000.0 * raw)));
  if (timeout < min) timeout = min;
  return timeout - elapsed;
}

Suspicion::Suspicion(Scheduler& sched, const std::string& from, int k, Duration min, Duration max,
                     std::function<void(int)> on_timeout)
    : sched_(sched),
      k_(k),
      min_(min),
      max_(max),
      start_(sched.now()),
      on_timeout_(std::move(on_timeout)),
      timer_(sched) {
  accusers_.insert(from);  // the first accuser is not a confirmation
  timer_.arm(k < 1 ? min : max, [this] { on_timeout_(n_); });
}

bool Suspicion::confirm(const std::string& from) {
  if (n_ >= k_) return false;
  if (!accusers_.insert(from).second) return false;
  ++n_;
  if (!timer_.armed()) return true;  // already fired
  Duration remaining = suspicion_remaining(n_, k_, sched_.now() - start_, min_, max_);
  if (remaining > Duration::zero()) {
    timer_.arm(remaining, [this] { on_timeout_(n_); });
  } else {
    timer_.cancel();
    // Fire from the loop, not from inside confirm(): the callback may destroy us.
    timer_.arm(Duration::zero(), [this] { on_timeout_(n_); });
  }
  return true;
}

void Awareness::apply_delta(int delta) {
  score_ = std::clamp(score_ + delta, 0, max_ - 1);
}

}  // namespace kc::gossip

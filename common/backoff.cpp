#include "common/backoff.h"

#include <algorithm>

namespace kc {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      jitter_(std::clamp(jitter, 0.0, 1.0)),
      rng_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::ceiling(int attempt) const {
  // Doubling stops once past max, so the value can never overflow.
  auto base = static_cast<double>(initial_.count());
  for (int i = 0; i < attempt && base < static_cast<double>(max_.count()); ++i) base *= 2;
  return std::chrono::milliseconds(
      static_cast<long long>(std::min(base, static_cast<double>(max_.count()))));
}

std::chrono::milliseconds Backoff::next() {
  auto base = static_cast<double>(ceiling(attempts_++).count());
  std::uniform_real_distribution<double> cut(0.0, jitter_);
  auto ms = static_cast<long long>(base * (1.0 - cut(rng_)));
  return std::chrono::milliseconds(std::max<long long>(ms, 1));
}

}  // namespace kc

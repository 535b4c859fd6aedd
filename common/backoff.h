// Exponential backoff with jitter for reconnects and retries: the one doubling-delay rule of
// the tree. The jitter keeps a fleet of agents that lost Postgres (or Kubernetes, or Kong)
// together from hammering it together when it returns.
#pragma once

#include <chrono>
#include <random>

namespace kc {

class Backoff {
 public:
  // Delays grow initial, 2*initial, 4*initial ... up to max; each is then shortened by a
  // random fraction of up to `jitter` (0.5: anywhere between half and all of it).
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter = 0.5);

  std::chrono::milliseconds next();
  // The delay before jitter for retry number `attempt` (0 first): initial doubled `attempt`
  // times, at most max. For callers that count attempts themselves or jitter differently.
  std::chrono::milliseconds ceiling(int attempt) const;
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double jitter_;
  int attempts_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace kc

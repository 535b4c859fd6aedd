#include "common/log_limit.h"

namespace kc::log {

std::optional<uint64_t> RateLimit::admit(Clock::time_point now) {
  if (!started_ || now - window_start_ >= interval_) {
    started_ = true;
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++pending_suppressed_;
    ++suppressed_total_;
    return std::nullopt;
  }
  ++in_window_;
  return std::exchange(pending_suppressed_, 0);
}

std::string suppressed_note(uint64_t n) {
  if (n == 0) return "";
  return " (" + std::to_string(n) + " similar line" + (n == 1 ? "" : "s") + " suppressed)";
}

}  // namespace kc::log

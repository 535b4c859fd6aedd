// Rate-limited logging for lines a remote peer can trigger (a rejected connection, a bad
// token, a malformed request): at most `burst` lines per `interval` get through for one
// call site; the rest are counted, and the next line that gets through says how many were
// left out. An attacker can then fill neither the disk nor the RPC `monitor` stream, and
// the operator still sees that it happens (the metrics count every event).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/logging.h"

namespace kc::log {

class RateLimit {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimit(Clock::duration interval = std::chrono::seconds(10), uint32_t burst = 5)
      : interval_(interval), burst_(burst) {}

  // Whether a line may be written now. When it may, returns how many lines were suppressed
  // since the last one written (0 if none); otherwise counts this one and returns nullopt.
  std::optional<uint64_t> admit(Clock::time_point now = Clock::now());

  uint64_t suppressed_total() const { return suppressed_total_; }

 private:
  Clock::duration interval_;
  uint32_t burst_;
  Clock::time_point window_start_{};
  uint32_t in_window_ = 0;
  uint64_t pending_suppressed_ = 0;
  uint64_t suppressed_total_ = 0;
  bool started_ = false;
};

// " (N similar lines suppressed)" or "".
std::string suppressed_note(uint64_t n);

// Logs through `limit`: `logger->log(level, fmt, args...)` if admitted, with the count of
// suppressed lines appended.
template <typename... Args>
void limited(RateLimit& limit, spdlog::logger& logger, spdlog::level::level_enum level,
             spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (!logger.should_log(level)) return;
  auto suppressed = limit.admit();
  if (!suppressed) return;
  logger.log(level, "{}{}", fmt::format(fmt, std::forward<Args>(args)...),
             suppressed_note(*suppressed));
}

}  // namespace kc::log

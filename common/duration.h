// Durations written the way Go's time.ParseDuration reads them ("1.5s", "500ms", "1m30s"):
// serf's flags and the operator's settings use that syntax.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace kc {

// Go time.ParseDuration subset: "1.5s", "500ms", "1m30s", "2h", "0"; nullopt if invalid.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text);

}  // namespace kc

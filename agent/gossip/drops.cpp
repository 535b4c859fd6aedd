#include "agent/gossip/drops.h"

#include <iterator>

namespace kc::gossip {

const char* to_string(DropReason r) {
  static constexpr const char* kNames[] = {"handler_error",    "bad_address", "bad_name",
                                           "catch_up_refused", "stream_shed", "stream_idle"};
  static_assert(std::size(kNames) == kDropReasons);
  auto i = static_cast<size_t>(r);
  return i < kDropReasons ? kNames[i] : "unknown";
}

}  // namespace kc::gossip

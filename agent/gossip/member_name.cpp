#include "agent/gossip/member_name.h"

namespace kc::gossip {

std::string member_name_error(std::string_view name) {
  if (name.empty()) return "member name is empty";
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f)
      return "member name contains control character 0x" +
             std::string{"0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]} + " at byte " +
             std::to_string(i);
  }
  return {};
}

}  // namespace kc::gossip

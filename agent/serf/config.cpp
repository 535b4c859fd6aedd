#include "agent/serf/config.h"

#include "agent/gossip/member_name.h"
#include "agent/serf/tags.h"

namespace kc::serf {

std::string Config::validate() const {
  auto range = "Must be in range: [" + std::to_string(kProtocolVersionMin) + ", " +
               std::to_string(kProtocolVersionMax) + "]";
  if (protocol_version < kProtocolVersionMin)
    return "Protocol version '" + std::to_string(protocol_version) + "' too low. " + range;
  if (protocol_version > kProtocolVersionMax)
    return "Protocol version '" + std::to_string(protocol_version) + "' too high. " + range;
  if (user_event_size_limit > kUserEventSizeLimitMax)
    return "user event size limit exceeds limit of " + std::to_string(kUserEventSizeLimitMax) +
           " bytes";
  if (encode_tags(tags, protocol_version).size() > kMetaMaxSize)
    return "Encoded length of tags exceeds limit of " + std::to_string(kMetaMaxSize) + " bytes";
  if (node_name.empty()) return "node name must not be empty";
  if (auto bad = gossip::member_name_error(node_name); !bad.empty()) return "node name: " + bad;
  return {};
}

}  // namespace kc::serf

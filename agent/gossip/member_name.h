// Which member names we accept. Serf 0.9.4 itself checks nothing, but a name with a tab,
// newline or other control character forges rows in line-oriented output (`members`) and
// log lines, and no hostname or pod name can contain one. Such names are refused when we
// start and whenever they arrive by gossip or push/pull (counted as bad_name drops); Serf
// versions that validate names (0.9.5 and later, ValidateNodeNames) refuse them too.
#pragma once

#include <string>
#include <string_view>

namespace kc::gossip {

// "" when `name` is acceptable, else why not.
std::string member_name_error(std::string_view name);

}  // namespace kc::gossip

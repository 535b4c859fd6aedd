// The two kinds of filters a client hands the RPC server: `stream` event filters (serf
// agent's ParseEventFilter / EventFilter.Invoke) and `members-filtered` regexes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/rpc/agent_api.h"

namespace kc::rpc {

struct EventFilter {
  std::string event;  // member-join ... member-reap, user, query, or *
  std::string name;   // for user:NAME / query:NAME
  bool valid() const;
  bool matches(const Event& e) const;
};

// "member-join,user:deploy" -> filters; "" means "*". Invalid entries are kept (check
// valid()) because serf reports "Invalid event filter" for the whole request.
std::vector<EventFilter> parse_event_filters(std::string_view spec);

// Name of an event as serf prints it ("member-join", "user", "query").
std::string event_type_name(const Event& e);

// Members whose name, status and tags match the anchored regexes (`^expr$`, as serf builds
// them, with Go's RE2 syntax: common/go_regexp.h; an empty name or status matches everything).
// Returns nullopt when a regex does not compile; serf closes the connection then.
std::optional<std::vector<MemberInfo>> filter_members(std::vector<MemberInfo> members,
                                                      const Tags& tags, const std::string& status,
                                                      const std::string& name);

}  // namespace kc::rpc

// Event handler specifications as serf's agent takes them (`-event-handler [filter=]command`,
// cmd/serf/command/agent/event_handler.go): a comma-separated filter list of member-join,
// member-leave, member-failed, member-update, member-reap, user, user:NAME, query,
// query:NAME or `*` (no filter = every event), then the shell command.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/serf/event.h"

namespace kc::events {

struct EventFilter {
  std::string event;  // "member-join", ..., "user", "query" or "*"
  std::string name;   // user event or query name; "" = any

  bool matches(const serf::Event& e) const;
  bool valid() const;
  std::string to_string() const;  // "user:kong"
};

struct HandlerSpec {
  std::vector<EventFilter> filters;
  std::string command;

  bool matches(const serf::Event& e) const;
  std::string to_string() const;  // "member-join,user:kong=/path/script.sh"
};

// One serf `-event-handler` value. Returns "" or an error naming the bad filter.
std::string parse_handler(std::string_view value, HandlerSpec& out);

// The cluster_event_handlers list after the config layer split it at commas: items that are
// only event filters belong to the next `filter=command` item, so Kong's
// "member-join,member-leave,...,user:kong=/path/serf_event.sh" is one handler. An item with
// neither '=' nor a filter name is a command for every event. Returns "" or an error.
std::string parse_handler_list(const std::vector<std::string>& items,
                               std::vector<HandlerSpec>& out);

}  // namespace kc::events

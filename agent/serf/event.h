// Events Serf delivers to its subscribers (event.go): member events, user events and
// queries. Subscribers are callbacks run on the event loop, in the order events happened.
#pragma once

#include <array>
#include <memory>
#include <variant>
#include <vector>

#include "agent/serf/member.h"
#include "agent/serf/query.h"
#include "common/enum_names.h"

namespace kc::serf {

enum class EventType {
  MemberJoin,
  MemberLeave,
  MemberFailed,
  MemberUpdate,
  MemberReap,
  User,
  Query,
};

// "member-join", "member-leave", "member-failed", "member-update", "member-reap", "user",
// "query" (the names event handlers and RPC streams use).
inline const char* to_string(EventType t) {
  static constexpr std::array<const char*, 7> kNames{
      "member-join", "member-leave", "member-failed", "member-update",
      "member-reap", "user",         "query"};
  static_assert(names_every_value(kNames, EventType::Query));
  return enum_name(t, kNames);
}

struct MemberEvent {
  EventType type = EventType::MemberJoin;
  std::vector<Member> members;
};

struct UserEvent {
  LamportTime ltime = 0;
  std::string name;
  Bytes payload;
  bool coalesce = false;
};

// A query is shared: the subscriber may answer it later (RPC `respond`).
using Event = std::variant<MemberEvent, UserEvent, std::shared_ptr<Query>>;

inline EventType event_type(const Event& e) {
  if (auto* m = std::get_if<MemberEvent>(&e)) return m->type;
  if (std::holds_alternative<UserEvent>(e)) return EventType::User;
  return EventType::Query;
}

using EventHandler = std::function<void(const Event&)>;

}  // namespace kc::serf

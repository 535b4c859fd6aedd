#include "agent/serf/coalesce.h"

namespace kc::serf {

Coalescer::Coalescer(gossip::Scheduler& sched, gossip::Duration coalesce_period,
                     gossip::Duration quiescent_period, Emit emit)
    : coalesce_period_(coalesce_period),
      quiescent_period_(quiescent_period),
      emit_(std::move(emit)),
      quantum_(sched),
      quiescent_(sched) {}

bool Coalescer::offer(const Event& e) {
  if (!handles(e)) return false;
  if (!quantum_.armed()) quantum_.arm(coalesce_period_, [this] { flush(); });
  quiescent_.arm(quiescent_period_, [this] { flush(); });
  coalesce(e);
  return true;
}

void Coalescer::flush() {
  quantum_.cancel();
  quiescent_.cancel();
  flush_into(emit_);
}

bool MemberEventCoalescer::handles(const Event& e) const {
  auto t = event_type(e);
  return t == EventType::MemberJoin || t == EventType::MemberLeave ||
         t == EventType::MemberFailed || t == EventType::MemberUpdate || t == EventType::MemberReap;
}

void MemberEventCoalescer::coalesce(const Event& e) {
  const auto& me = std::get<MemberEvent>(e);
  for (const auto& m : me.members) latest_events_[m.name] = {me.type, m};
}

void MemberEventCoalescer::flush_into(const Emit& emit) {
  std::map<EventType, MemberEvent> events;
  for (const auto& [name, ev] : latest_events_) {
    const auto& [type, member] = ev;
    auto prev = last_events_.find(name);
    // The same event as last time tells a handler nothing new, except an update (tags).
    if (prev != last_events_.end() && prev->second == type && type != EventType::MemberUpdate)
      continue;
    last_events_[name] = type;
    auto& out = events[type];
    out.type = type;
    out.members.push_back(member);
  }
  // Go never clears its pending map, so every later flush re-sends old member-updates; we
  // clear it, which only drops those duplicates.
  latest_events_.clear();
  for (auto& [type, ev] : events) emit(std::move(ev));
}

bool UserEventCoalescer::handles(const Event& e) const {
  auto* u = std::get_if<UserEvent>(&e);
  return u && u->coalesce;
}

void UserEventCoalescer::coalesce(const Event& e) {
  const auto& u = std::get<UserEvent>(e);
  auto it = events_.find(u.name);
  if (it == events_.end() || it->second.ltime < u.ltime) {
    events_[u.name] = Latest{u.ltime, {u}};
    return;
  }
  if (it->second.ltime == u.ltime) it->second.events.push_back(u);
}

void UserEventCoalescer::flush_into(const Emit& emit) {
  auto events = std::move(events_);
  events_.clear();
  for (auto& [name, latest] : events)
    for (auto& e : latest.events) emit(e);
}

}  // namespace kc::serf

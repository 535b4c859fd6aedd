#include "agent/rpc/connection_policy.h"

namespace kc::rpc {

DeadlineCheck check_deadline(const ConnectionState& c, const ConnectionDeadlines& d,
                             Clock::time_point now) {
  if (!c.authenticated) {
    auto deadline = c.connected + d.auth_timeout;
    if (now >= deadline) return {DeadlineVerdict::AuthTimeout, {}};
    return {DeadlineVerdict::Keep, deadline};
  }
  if (d.idle_timeout.count() <= 0) return {DeadlineVerdict::Keep, Clock::time_point::max()};
  if (!c.idle) return {DeadlineVerdict::Keep, now + d.idle_timeout};  // busy: look again later
  auto deadline = c.last_request + d.idle_timeout;
  if (now >= deadline) return {DeadlineVerdict::IdleTimeout, {}};
  return {DeadlineVerdict::Keep, deadline};
}

std::optional<size_t> pick_connection_to_shed(const std::vector<ConnectionState>& connections) {
  std::optional<size_t> best;
  // Unauthenticated before authenticated; among equals, the one waiting longest.
  auto better = [](const ConnectionState& a, const ConnectionState& b) {
    if (a.authenticated != b.authenticated) return !a.authenticated;
    if (!a.authenticated) return a.connected < b.connected;
    return a.last_request < b.last_request;
  };
  for (size_t i = 0; i < connections.size(); ++i) {
    const auto& c = connections[i];
    if (c.authenticated && !c.idle) continue;
    if (!best || better(c, connections[*best])) best = i;
  }
  return best;
}

}  // namespace kc::rpc

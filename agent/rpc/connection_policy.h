// When an RPC connection must close for doing nothing, and which one makes room when the
// server is full. Kept apart from the sockets so the rules can be tested in microseconds.
//
// Without these rules a client that connects and never speaks holds a slot forever: 128 of
// them locked every client (the operator included) out of the agent. Now:
//   - the handshake and, with a token, `auth` must be done within auth_timeout of connecting;
//   - an authenticated connection with nothing in progress (no command waiting for the
//     agent, no stream, monitor or query open) closes after idle_timeout without a request,
//     when one is set: by default it stays, as serf keeps it (a client of serf's RPC may hold
//     one connection for hours between calls); shedding below keeps the slots free;
//   - at max_connections a new connection is still accepted: the unauthenticated connection
//     that connected first is closed for it, else the authenticated one idle longest; only
//     when every connection is busy is the new one refused.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace kc::rpc {

using Clock = std::chrono::steady_clock;

struct ConnectionDeadlines {
  std::chrono::milliseconds auth_timeout{5000};
  std::chrono::milliseconds idle_timeout{0};  // 0 = idle authenticated connections stay
};

// What the server knows about one connection.
struct ConnectionState {
  bool authenticated = false;  // handshake done and, with a token, `auth` accepted
  bool idle = false;           // nothing in progress, no stream, monitor or query open
  Clock::time_point connected;
  Clock::time_point last_request;  // last input from the peer (connected if none yet)
};

enum class DeadlineVerdict { Keep, AuthTimeout, IdleTimeout };

struct DeadlineCheck {
  DeadlineVerdict verdict = DeadlineVerdict::Keep;
  Clock::time_point next_check;  // when to look again if kept
};

DeadlineCheck check_deadline(const ConnectionState& c, const ConnectionDeadlines& d,
                             Clock::time_point now);

// The index of the connection to close for a new one, or nullopt if none may be shed.
std::optional<size_t> pick_connection_to_shed(const std::vector<ConnectionState>& connections);

}  // namespace kc::rpc

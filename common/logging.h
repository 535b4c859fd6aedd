// Named spdlog loggers plus a ring of the last log lines (the RPC `monitor` command replays
// it, as serf does) and subscribers that receive every new line.
#pragma once

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kc::log {

// The logger for a component ("gossip", "serf", "rpc", ...), created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

// Sets the level of every logger: trace, debug, info, warn, err.
// Returns false (and changes nothing) for an unknown level name.
bool set_level(const std::string& level);

struct Line {
  spdlog::level::level_enum level;
  std::string text;  // formatted like serf: "2026/11/25 10:23:46 [INFO] gossip: ..."
};

// The last (up to 512) lines, oldest first.
std::vector<Line> recent_lines();

// Subscribes to every new line; returns an id for unsubscribe. Callbacks run on the
// logging thread (the event loop in this project) and must not log themselves.
int subscribe(std::function<void(const Line&)> callback);
void unsubscribe(int id);

}  // namespace kc::log

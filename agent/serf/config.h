// Serf's configuration (config.go DefaultConfig, plus what the serf agent changes: protocol 5,
// coalescing of member and user events). Durations run on the gossip Scheduler's clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/gossip/config.h"
#include "agent/serf/member.h"

namespace kc::serf {

using gossip::Duration;
using namespace std::chrono_literals;

inline constexpr uint8_t kProtocolVersionMin = 2;
inline constexpr uint8_t kProtocolVersionMax = 5;
// serf.UserEventSizeLimit: the hard ceiling for user_event_size_limit.
inline constexpr size_t kUserEventSizeLimitMax = size_t{9} * 1024;

struct Config {
  std::string node_name;  // also memberlist's name (memberlist.name is overwritten)
  Tags tags;
  uint8_t protocol_version = kProtocolVersionMax;

  Duration broadcast_timeout = 5s;
  Duration leave_propagate_delay = 1s;

  // Coalescing of member events and of user events sent with CC (0 = off). The serf agent
  // uses 3 s / 1 s for both.
  Duration coalesce_period = 0s;
  Duration quiescent_period = 0s;
  Duration user_coalesce_period = 0s;
  Duration user_quiescent_period = 0s;

  Duration reap_interval = 15s;
  Duration reconnect_interval = 30s;
  Duration reconnect_timeout = 24h;
  Duration tombstone_timeout = 24h;
  Duration flap_timeout = 60s;
  Duration queue_check_interval = 30s;
  size_t queue_depth_warning = 128;
  size_t max_queue_depth = 4096;
  size_t min_queue_depth = 0;
  Duration recent_intent_timeout = 5min;
  // Intents for nodes memberlist has not told us about are kept for recent_intent_timeout. A
  // real one lives only until the node's alive arrives (seconds), so this bound is far above
  // any join storm; it stops spoofed intents with invented names from growing memory for five
  // minutes at line rate (each refused one is counted in SerfCounters::intents_dropped).
  size_t max_recent_intents = 4096;

  size_t event_buffer = 512;
  size_t query_buffer = 512;
  int query_timeout_mult = 16;
  size_t query_response_size_limit = 1024;
  size_t query_size_limit = 1024;
  size_t user_event_size_limit = 512;

  bool enable_name_conflict_resolution = true;
  bool disable_coordinates = false;
  std::string keyring_file;  // rewritten after key changes when set

  uint64_t seed = 0;  // query ids, reconnect choice, relays, Vivaldi; 0 = random_device

  gossip::Config memberlist = gossip::Config::lan();

  // Serf's checks at Create: protocol range, size limits, tag size. Empty when valid.
  std::string validate() const;
};

}  // namespace kc::serf

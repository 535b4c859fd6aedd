// memberlist's configuration and its three profiles (config.go: Default{LAN,WAN,Local}Config).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/gossip/types.h"

namespace kc::gossip {

struct Config {
  std::string name;
  Address advertise;  // what we tell others (IP + port)

  Duration tcp_timeout = 10s;
  int indirect_checks = 3;
  int retransmit_mult = 4;
  int suspicion_mult = 4;
  int suspicion_max_timeout_mult = 6;
  Duration push_pull_interval = 30s;
  Duration probe_timeout = 500ms;
  Duration probe_interval = 1s;
  bool disable_tcp_pings = false;
  int awareness_max_multiplier = 8;
  int gossip_nodes = 3;
  Duration gossip_interval = 200ms;
  Duration gossip_to_the_dead_time = 30s;
  bool enable_compression = true;
  size_t udp_buffer_size = 1400;
  size_t handoff_queue_depth = 1024;
  Vsn vsn = kDefaultVsn;
  uint64_t seed = 0;  // randomness; 0 = from std::random_device
  // Catch-up push/pulls with members that ping us before we know them (see push_pull.cpp):
  // at most `catch_up_burst` at once, then one per `catch_up_interval`, all members together,
  // so spoofed pings cannot turn us into a reflector of our full state.
  int catch_up_burst = 3;
  Duration catch_up_interval = 2s;

  static Config lan();
  static Config wan();
  static Config local();
  // "lan", "wan", "local"; nullopt for anything else.
  static std::optional<Config> profile(const std::string& name);
};

}  // namespace kc::gossip

#include "agent/gossip/config.h"

namespace kc::gossip {

Config Config::lan() {
  return Config{};
}

Config Config::wan() {
  Config c;
  c.tcp_timeout = 30s;
  c.suspicion_mult = 6;
  c.push_pull_interval = 60s;
  c.probe_timeout = 3s;
  c.probe_interval = 5s;
  c.gossip_nodes = 4;
  c.gossip_interval = 500ms;
  c.gossip_to_the_dead_time = 60s;
  return c;
}

Config Config::local() {
  Config c;
  c.tcp_timeout = 1s;
  c.indirect_checks = 1;
  c.retransmit_mult = 2;
  c.suspicion_mult = 3;
  c.push_pull_interval = 15s;
  c.probe_timeout = 200ms;
  c.gossip_interval = 100ms;
  c.gossip_to_the_dead_time = 15s;
  return c;
}

std::optional<Config> Config::profile(const std::string& name) {
  if (name == "lan") return lan();
  if (name == "wan") return wan();
  if (name == "local") return local();
  return std::nullopt;
}

}  // namespace kc::gossip

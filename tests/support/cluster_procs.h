// Real processes for cluster tests: our agent (`kong-cluster agent`) and Debian's `serf
// agent`, each on free loopback ports, queried through the `serf` CLI (which speaks to
// either over RPC) and stopped by PID.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"

namespace kc::test {

struct MemberView {
  std::string addr;  // ip:port
  std::string status;
  std::map<std::string, std::string> tags;
};

// A running gossip agent, ours or serf's.
class GossipAgent {
 public:
  enum class Kind { Ours, Serf };
  struct Options {
    Kind kind = Kind::Ours;
    std::string name;
    std::string encrypt;  // base64 key
    std::map<std::string, std::string> tags;
    std::vector<std::string> join;
    std::string profile = "lan";
    std::vector<std::string> extra_args;
    int bind_port = 0;                       // 0 = a free one
    std::map<std::string, std::string> env;  // e.g. KONG_PG_HOST for ours
  };

  GossipAgent(const TempDir& dir, Options o);
  Process& process() { return *proc_; }
  const std::string& name() const { return opts_.name; }
  std::string gossip_addr() const { return "127.0.0.1:" + std::to_string(bind_port_); }
  std::string rpc_addr() const { return "127.0.0.1:" + std::to_string(rpc_port_); }
  int bind_port() const { return bind_port_; }
  Kind kind() const { return opts_.kind; }

  // `serf members -format=json` against this agent's RPC; nullopt if it cannot answer.
  std::optional<std::map<std::string, MemberView>> members() const;
  // How many members this agent sees alive (0 if it cannot answer).
  size_t alive_count() const;
  // Status of `name` as this agent sees it ("" if unknown or no answer).
  std::string status_of(const std::string& name) const;
  // Waits until this agent's RPC answers.
  bool wait_ready(int timeout_ms = 15000) const;

 private:
  Options opts_;
  int bind_port_ = 0;
  int rpc_port_ = 0;
  std::unique_ptr<Process> proc_;
};

// Path of our binary in the build tree.
std::string kong_cluster_binary();

}  // namespace kc::test

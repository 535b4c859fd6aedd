// `kong-cluster` client subcommands. Each talks to a running agent over the Serf RPC (so
// they also work against a real `serf agent`), prints what `kong cluster` / `serf` print,
// and returns the process exit code: 0 on success, 1 on any failure (serf's convention).
//
// The lead's main registers them with register_commands() next to its own `agent`
// subcommand; the run_* functions are separate so tests can call them directly.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "serf_client/records.h"

namespace kc::cli {

struct Io {
  std::ostream& out;
  std::ostream& err;
};

// Where the agent's RPC listens and its auth token. Defaults: --rpc-addr, else
// $KONG_CLUSTER_RPC_ADDR, else $KONG_CLUSTER_LISTEN_RPC (the agent's own config env), else
// 127.0.0.1:7373; --rpc-auth, else $KONG_CLUSTER_RPC_AUTH.
struct RpcOptions {
  std::string addr;
  std::string auth;
  // Connection failures worded as the serf CLI words them ("Error connecting to Serf agent:
  // dial tcp ADDR: connect: connection refused"), for the `serf` entry point.
  bool serf_errors = false;
};
RpcOptions rpc_defaults_from_env();

struct MembersOptions {
  RpcOptions rpc;
  std::string status;             // anchored regex, e.g. alive or "alive|failed"
  std::string name;               // anchored regex
  std::vector<std::string> tags;  // key=regex
  std::string format = "text";    // text | json (Kong's /cluster) | serf-json
  bool detailed = false;
};
int run_members(const MembersOptions& o, Io io);

struct JoinOptions {
  RpcOptions rpc;
  std::vector<std::string> addrs;
  bool replay = false;
};
int run_join(const JoinOptions& o, Io io);

struct ForceLeaveOptions {
  RpcOptions rpc;
  std::string node;
  bool prune = false;
};
int run_force_leave(const ForceLeaveOptions& o, Io io);

int run_leave(const RpcOptions& rpc, Io io);

struct EventOptions {
  RpcOptions rpc;
  std::string name;
  std::optional<std::string> payload;
  bool coalesce = true;
};
int run_event(const EventOptions& o, Io io);

struct ReachabilityOptions {
  RpcOptions rpc;
  bool verbose = false;
};
int run_reachability(const ReachabilityOptions& o, Io io);

int run_keygen(Io io);

struct KeysOptions {
  RpcOptions rpc;
  // Kong style: action install|use|remove|list (+ key); serf style: one of the flags.
  std::string action;
  std::string key;
  std::string install, use, remove;
  bool list = false;
};
int run_keys(const KeysOptions& o, Io io);

struct QueryOptions {
  RpcOptions rpc;
  std::string name;
  std::optional<std::string> payload;
  std::vector<std::string> nodes;
  std::vector<std::string> tags;  // key=regex
  std::string timeout;            // Go duration; "" = the agent's default
  bool no_ack = false;
  int relay_factor = 0;
  std::string format = "text";  // text | json
};
int run_query(const QueryOptions& o, Io io);

struct MonitorOptions {
  RpcOptions rpc;
  std::string log_level = "INFO";
};
// Runs until SIGINT/SIGTERM (exit 0) or until the agent goes away (exit 1).
int run_monitor(const MonitorOptions& o, Io io);

struct InfoOptions {
  RpcOptions rpc;
  std::string format = "text";  // text | json
};
int run_info(const InfoOptions& o, Io io);

struct TagsOptions {
  RpcOptions rpc;
  std::vector<std::string> set;  // key=value
  std::vector<std::string> del;
};
int run_tags(const TagsOptions& o, Io io);

// Adds members, join, force-leave, leave, event, reachability, keygen, keys, query,
// monitor, info (alias stats) and tags to `app`. After app.parse() the chosen command has
// run and `exit_code` holds its result (it is left alone when none of these ran).
void register_commands(CLI::App& app, int& exit_code, Io io = {std::cout, std::cerr});

}  // namespace kc::cli

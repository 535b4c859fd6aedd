// kong-cluster: the agent (`kong-cluster agent`) and the client subcommands that drive a
// running agent over its Serf-compatible RPC.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "agent/agent.h"
#include "agent/cli/commands.h"
#include "agent/serf_cli/serf_main.h"

namespace {

struct AgentFlags {
  std::string conf, node, bind, advertise, advertise_mode, rpc_addr, encrypt, keyring_file, profile,
      log_level, data_dir, rpc_auth, http_addr, probe_addr, kong_admin_url, kubeconfig, cluster_id;
  std::vector<std::string> join, tags, event_handlers;
};

// The agent's settings, once parsed; the agent itself runs after the command line's parser is
// gone (run()), so the parser's objects do not stay on the heap for the agent's whole life.
using AgentToRun = std::optional<kc::agent::AgentConfig>;

void add_agent_command(CLI::App& app, AgentFlags& f, AgentToRun& to_run, int& exit_code) {
  auto* cmd = app.add_subcommand("agent", "Run a cluster member (a Serf-compatible gossip agent)");
  cmd->footer(
      "Settings come from --conf (kong.conf keys), then KONG_<KEY> environment variables,\n"
      "then these flags. SIGTERM or SIGINT leaves the cluster gracefully.");
  cmd->add_option("--conf", f.conf, "kong.conf-style file (key = value)");
  cmd->add_option("--node", f.node,
                  "node name (cluster_node_name); default $POD_NAME or Kong's form");
  cmd->add_option("--bind", f.bind, "gossip address, UDP and TCP (cluster_listen) [0.0.0.0:7946]");
  cmd->add_option("--advertise", f.advertise, "address others use to reach us (cluster_advertise)");
  cmd->add_option("--advertise-mode", f.advertise_mode,
                  "auto|pod|host|node-internal|node-external");
  cmd->add_option("--kubeconfig", f.kubeconfig,
                  "kubeconfig for reading this agent's Node ($NODE_NAME) (cluster_kubeconfig); "
                  "default $KUBECONFIG, else in-cluster");
  cmd->add_option("--cluster-id", f.cluster_id,
                  "identity of this Kubernetes cluster, the k8s-cluster tag "
                  "(cluster_k8s_cluster_id); default in a pod: the kube-system Namespace's uid");
  cmd->add_option("--rpc-addr", f.rpc_addr, "RPC address (cluster_listen_rpc) [127.0.0.1:7373]");
  cmd->add_option("--join", f.join, "address to join at start (repeatable; cluster_join)");
  cmd->add_option("--encrypt", f.encrypt, "base64 gossip key (cluster_encrypt_key)");
  cmd->add_option("--keyring-file", f.keyring_file, "keyring file (cluster_keyring_file)");
  cmd->add_option("--profile", f.profile, "lan|wan|local timing profile (cluster_profile) [wan]");
  cmd->add_option("--tag", f.tags, "tag key=value (repeatable; cluster_tags)");
  cmd->add_option("--log-level", f.log_level, "trace|debug|info|warn|err");
  cmd->add_option("--data-dir", f.data_dir, "where the generated node name is kept");
  cmd->add_option("--rpc-auth", f.rpc_auth, "token RPC clients must present (cluster_rpc_auth)");
  cmd->add_option("--http-addr", f.http_addr,
                  "HTTP API (token-protected), probes and metrics address (cluster_http_listen)");
  cmd->add_option("--probe-addr", f.probe_addr,
                  "/healthz, /readyz and /metrics only, no credential (cluster_probe_listen)");
  cmd->add_option("--event-handler", f.event_handlers,
                  "[filter=]command as serf's -event-handler (repeatable; cluster_event_handlers)");
  cmd->add_option("--kong-admin-url", f.kong_admin_url,
                  "local Kong Admin API that receives events (cluster_kong_admin_url)");
  cmd->callback([&f, &to_run, &exit_code] {
    using kc::config::Settings;
    try {
      Settings s(kc::agent::agent_keys(), kc::agent::kong_foreign_keys(),
                 kc::agent::kong_foreign_prefixes());
      if (!f.conf.empty()) s.load_file(f.conf);
      s.load_env([](const char* n) { return std::getenv(n); });
      auto flag = [&](const std::string& value, const char* key, const char* name) {
        if (!value.empty()) s.set(key, value, std::string("flag ") + name);
      };
      flag(f.node, "cluster_node_name", "--node");
      flag(f.bind, "cluster_listen", "--bind");
      flag(f.advertise, "cluster_advertise", "--advertise");
      flag(f.advertise_mode, "cluster_advertise_mode", "--advertise-mode");
      flag(f.kubeconfig, "cluster_kubeconfig", "--kubeconfig");
      flag(f.cluster_id, "cluster_k8s_cluster_id", "--cluster-id");
      flag(f.rpc_addr, "cluster_listen_rpc", "--rpc-addr");
      flag(f.encrypt, "cluster_encrypt_key", "--encrypt");
      flag(f.keyring_file, "cluster_keyring_file", "--keyring-file");
      flag(f.profile, "cluster_profile", "--profile");
      flag(f.log_level, "log_level", "--log-level");
      flag(f.data_dir, "cluster_data_dir", "--data-dir");
      flag(f.rpc_auth, "cluster_rpc_auth", "--rpc-auth");
      flag(f.http_addr, "cluster_http_listen", "--http-addr");
      flag(f.probe_addr, "cluster_probe_listen", "--probe-addr");
      auto join_list = [](const std::vector<std::string>& v) {
        std::string out;
        for (auto& x : v) out += (out.empty() ? "" : ",") + x;
        return out;
      };
      flag(join_list(f.join), "cluster_join", "--join");
      flag(join_list(f.tags), "cluster_tags", "--tag");
      flag(join_list(f.event_handlers), "cluster_event_handlers", "--event-handler");
      flag(f.kong_admin_url, "cluster_kong_admin_url", "--kong-admin-url");
      to_run = kc::agent::agent_config_from(s);
    } catch (const kc::config::ConfigError& e) {
      std::cerr << "kong-cluster agent: " << e.what() << "\n";
      exit_code = 2;
    }
  });
}

}  // namespace

namespace {

int run(int argc, char** argv) {
  // Started as `serf` (Kong's serf_path): serf's grammar and output instead of ours.
  if (argc > 0 && kc::serf_cli::invoked_as_serf(argv[0]))
    return kc::serf_cli::serf_main(std::vector<std::string>(argv + 1, argv + argc),
                                   {std::cout, std::cerr});
  int exit_code = 0;
  AgentToRun agent;
  {
    CLI::App app{"kong-cluster: the clustering layer for Kong-style API gateways"};
    app.require_subcommand(1);
    AgentFlags flags;
    add_agent_command(app, flags, agent, exit_code);
    kc::cli::register_commands(app, exit_code);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
  }
  // run_agent reports its own start-up errors (a bad key, an address in use) and returns 1.
  return agent ? kc::agent::run_agent(*agent) : exit_code;
}

}  // namespace

// An exception nobody handled is reported and ends the process with status 1, instead of
// std::terminate's abort and core dump.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "kong-cluster: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "kong-cluster: unknown exception\n";
  }
  return 1;
}

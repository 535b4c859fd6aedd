// The agent's configuration: Kong's own keys (so an existing kong.conf works) plus ours,
// merged from the file, KONG_<KEY> environment variables and flags (in that order).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/settings.h"

namespace kc::agent {

struct AgentConfig {
  std::string node_name;
  std::string bind = "0.0.0.0:7946";        // cluster_listen
  std::string rpc_addr = "127.0.0.1:7373";  // cluster_listen_rpc
  std::string advertise;                    // cluster_advertise ("" = derived)
  std::string advertise_mode = "auto";      // auto | pod | host | node-internal | node-external
  // The agent's own Node ($NODE_NAME), read once at start-up when Kubernetes is configured:
  // `dc` and `zone` tags from these labels, the address for the node-* advertise modes.
  std::string kubeconfig;  // cluster_kubeconfig ("" = $KUBECONFIG, else in-cluster)
  std::string datacenter_label = "topology.kubernetes.io/region";
  std::string zone_label = "topology.kubernetes.io/zone";
  // cluster_k8s_cluster_id: the Kubernetes cluster this agent runs in, as the `k8s-cluster`
  // tag ("" = the kube-system Namespace's uid when running in a pod, no tag elsewhere).
  std::string k8s_cluster_id;
  std::string encrypt_key;  // base64
  std::string keyring_file;
  std::string profile = "wan";  // Kong's default; serf agent's is lan
  int ttl_on_failure = 3600;
  std::string http_addr;   // cluster_http_listen ("" = off): API, probes, metrics
  std::string probe_addr;  // cluster_probe_listen ("" = off): probes and metrics only
  // cluster_http_unauthenticated: without rpc_auth, serve the membership API off loopback.
  bool http_unauthenticated = false;
  // cluster_handler_env: names (or PREFIX*) of the agent's environment handlers also get.
  std::vector<std::string> handler_env;
  std::vector<std::string> join;
  std::vector<std::string> event_handlers;  // serf-style [filter=]command items
  std::chrono::milliseconds event_handler_timeout{60000};
  size_t event_handler_concurrency = 4;
  std::string kong_admin_url;
  std::string rpc_auth;
  std::map<std::string, std::string> tags;
  std::string log_level = "info";
  std::string data_dir;
  bool datastore = false;                 // pg_* configured (pg_host given)
  std::map<std::string, std::string> pg;  // pg_* keys as given (with Kong's defaults)
  std::chrono::milliseconds leave_timeout{15000};
  std::chrono::milliseconds keepalive_interval{30000};
  // cluster_page_release_interval (0 = never): agent/page_release.h.
  std::chrono::milliseconds page_release_interval{30000};
  // Started by Kong 0.9/0.10 as its serf (see kong_mode()).
  bool kong_mode = false;
};

// Every key the agent understands, with defaults and checks.
std::vector<config::KeySpec> agent_keys();
// Kong settings that may appear in a kong.conf and that the agent ignores.
std::vector<std::string> kong_foreign_keys();
std::vector<std::string> kong_foreign_prefixes();

// Builds the config from merged settings; throws config::ConfigError naming the key.
AgentConfig agent_config_from(const config::Settings& s);

// The configuration for an agent that Kong starts as its serf: Kong inserts, refreshes and
// deletes its own `nodes` row and auto-joins from the table itself, so the agent leaves the
// datastore alone (no second row for the same node) even when the pod's environment carries
// Kong's pg_* settings. Everything else (Kubernetes tags, advertise mode, HTTP API) stays.
AgentConfig kong_mode(AgentConfig c);

// cluster_node_name, else $POD_NAME, else Kong's `<hostname>_<cluster_listen>_<32 hex>`
// kept in <data_dir>/node-id (so a restart keeps its name) when a data dir is given.
std::string resolve_node_name(const AgentConfig& c);

}  // namespace kc::agent

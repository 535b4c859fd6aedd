#include "agent/agent_config.h"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <random>

#include "agent/events/handler_spec.h"
#include "common/http/client.h"
#include "common/logging.h"

namespace kc::agent {

using config::check_bool;
using config::check_host_port;
using config::check_uint;
using config::KeySpec;

namespace {

std::string one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  for (auto* a : allowed)
    if (v == a) return "";
  return "'" + v + "' is not one of them";
}

std::string check_tags(const std::string& v) {
  for (auto& item : config::split_list(v)) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return "'" + item + "' is not key=value";
  }
  return "";
}

// Kubernetes label keys: [prefix/]name, no blanks (the API server checks the rest).
std::string check_label_key(const std::string& v) {
  if (v.empty()) return "a label key cannot be empty";
  for (char c : v)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '=' || c == ',')
      return "'" + v + "' is not a label key";
  return "";
}

std::string check_handlers(const std::string& v) {
  std::vector<events::HandlerSpec> specs;
  return events::parse_handler_list(config::split_list(v), specs);
}

std::string check_url(const std::string& v) {
  std::string err;
  return http::Url::parse(v, &err) ? "" : err;
}

}  // namespace

std::vector<KeySpec> agent_keys() {
  auto host_port = [](const std::string& v) { return check_host_port(v); };
  return {
      {"cluster_listen", "0.0.0.0:7946", "IP:port (UDP and TCP)", host_port},
      {"cluster_listen_rpc", "127.0.0.1:7373", "IP:port", host_port},
      {"cluster_advertise", std::nullopt, "IP:port reachable by every other node", host_port},
      {"cluster_advertise_mode", "auto", "auto|pod|host|node-internal|node-external",
       [](const std::string& v) {
         return one_of(v, {"auto", "pod", "host", "node-internal", "node-external"});
       }},
      {"cluster_kubeconfig",
       std::nullopt,
       "path to a kubeconfig for reading this agent's Node (default $KUBECONFIG, else in-cluster)",
       {}},
      {"cluster_k8s_cluster_id",
       std::nullopt,
       "identity of this Kubernetes cluster, the `k8s-cluster` tag (default in a pod: the uid "
       "of the kube-system Namespace)",
       {}},
      {"cluster_datacenter_label", "topology.kubernetes.io/region",
       "a Node label key; its value becomes the `dc` tag", check_label_key},
      {"cluster_zone_label", "topology.kubernetes.io/zone",
       "a Node label key; its value becomes the `zone` tag", check_label_key},
      {"cluster_encrypt_key", std::nullopt, "base64 of 16, 24 or 32 bytes", {}, true},
      {"cluster_keyring_file", std::nullopt, "path to a JSON array of base64 keys", {}},
      {"cluster_profile", "wan", "local|lan|wan",
       [](const std::string& v) {
         return one_of(v, {"local", "lan", "wan"});
       }},
      {"cluster_ttl_on_failure", "3600", "seconds, at least 60",
       [](const std::string& v) { return check_uint(v, 60, 315360000); }},
      {"cluster_http_listen", std::nullopt, "IP:port", host_port},
      {"cluster_probe_listen", std::nullopt, "IP:port for /healthz, /readyz and /metrics only",
       host_port},
      {"cluster_http_unauthenticated", "off",
       "on|off: without cluster_rpc_auth, serve the membership API on a non-loopback "
       "cluster_http_listen anyway",
       check_bool},
      {"cluster_handler_env",
       std::nullopt,
       "comma-separated environment variable names handlers also receive (NAME or PREFIX*)",
       {}},
      {"cluster_node_name", std::nullopt, "a name unique in the cluster", {}},
      {"cluster_join", std::nullopt, "comma-separated host:port list", {}},
      {"cluster_event_handlers", std::nullopt,
       "comma-separated [filter=]command list (serf's -event-handler)", check_handlers},
      {"cluster_event_handler_timeout", "60", "seconds a handler may run before it is killed",
       [](const std::string& v) { return check_uint(v, 1, 86400); }},
      {"cluster_event_handler_concurrency", "4", "handler processes running at once, 1-64",
       [](const std::string& v) { return check_uint(v, 1, 64); }},
      {"cluster_kong_admin_url", std::nullopt, "http://host:port of the local Kong Admin API",
       check_url},
      {"cluster_rpc_auth", std::nullopt, "a token RPC clients must present", {}, true},
      {"cluster_tags", std::nullopt, "comma-separated key=value list", check_tags},
      {"cluster_keepalive_interval", "30", "seconds between nodes-row refreshes (Kong: 30)",
       [](const std::string& v) { return check_uint(v, 1, 3600); }},
      {"cluster_page_release_interval", "30",
       "seconds between returns of the agent's unused code and constant pages to the kernel "
       "(0 = never; turn off while a debugger or uprobes set breakpoints in the agent)",
       [](const std::string& v) { return check_uint(v, 0, 86400); }},
      {"cluster_leave_timeout", "15", "seconds to wait for a graceful leave",
       [](const std::string& v) { return check_uint(v, 1, 3600); }},
      {"log_level", "info", "trace|debug|info|warn|err",
       [](const std::string& v) {
         return one_of(v, {"trace", "debug", "info", "notice", "warn", "error", "err", "crit",
                           "alert", "emerg"});
       }},
      {"cluster_data_dir", std::nullopt, "directory for the node id", {}},
      {"pg_host", std::nullopt, "host name, IP or socket directory", {}},
      {"pg_port", "5432", "1-65535", [](const std::string& v) { return check_uint(v, 1, 65535); }},
      {"pg_user", "kong", "a Postgres role", {}},
      {"pg_password", std::nullopt, "", {}, true},
      {"pg_password_file", std::nullopt, "a file holding only the password", {}},
      {"pg_database", "kong", "a database name", {}},
      {"pg_ssl", "off", "on|off", check_bool},
      {"pg_ssl_verify", "off", "on|off", check_bool},
  };
}

std::vector<std::string> kong_foreign_keys() {
  return {"prefix",
          "custom_plugins",
          "anonymous_reports",
          "proxy_listen",
          "proxy_listen_ssl",
          "admin_listen",
          "admin_listen_ssl",
          "mem_cache_size",
          "ssl",
          "ssl_cert",
          "ssl_cert_key",
          "admin_ssl",
          "admin_ssl_cert",
          "admin_ssl_cert_key",
          "upstream_keepalive",
          "server_tokens",
          "latency_tokens",
          "real_ip_header",
          "real_ip_recursive",
          "trusted_ips",
          "client_max_body_size",
          "client_body_buffer_size",
          "error_default_type",
          "database",
          "serf_path",
          "proxy_access_log",
          "proxy_error_log",
          "admin_access_log",
          "admin_error_log",
          "client_ssl",
          "client_ssl_cert",
          "client_ssl_cert_key",
          "http2",
          "admin_http2",
          "db_update_frequency",
          "db_update_propagation",
          "db_cache_ttl",
          "pg_timeout",
          "pg_schema"};
}

std::vector<std::string> kong_foreign_prefixes() {
  return {"nginx_", "cassandra_", "dns_", "lua_", "proxy_", "admin_"};
}

AgentConfig agent_config_from(const config::Settings& s) {
  AgentConfig c;
  c.node_name = s.get("cluster_node_name");
  c.bind = s.get("cluster_listen");
  c.rpc_addr = s.get("cluster_listen_rpc");
  c.advertise = s.get("cluster_advertise");
  c.advertise_mode = s.get("cluster_advertise_mode");
  c.kubeconfig = s.get("cluster_kubeconfig");
  c.k8s_cluster_id = s.get("cluster_k8s_cluster_id");
  c.datacenter_label = s.get("cluster_datacenter_label");
  c.zone_label = s.get("cluster_zone_label");
  c.encrypt_key = s.get("cluster_encrypt_key");
  c.keyring_file = s.get("cluster_keyring_file");
  c.profile = s.get("cluster_profile");
  c.ttl_on_failure = std::stoi(s.get("cluster_ttl_on_failure"));
  c.http_addr = s.get("cluster_http_listen");
  c.probe_addr = s.get("cluster_probe_listen");
  c.http_unauthenticated = config::parse_bool(s.get("cluster_http_unauthenticated"));
  c.handler_env = config::split_list(s.get("cluster_handler_env"));
  c.join = config::split_list(s.get("cluster_join"));
  c.event_handlers = config::split_list(s.get("cluster_event_handlers"));
  c.event_handler_timeout = std::chrono::seconds(std::stoi(s.get("cluster_event_handler_timeout")));
  c.event_handler_concurrency = std::stoul(s.get("cluster_event_handler_concurrency"));
  c.kong_admin_url = s.get("cluster_kong_admin_url");
  c.rpc_auth = s.get("cluster_rpc_auth");
  for (auto& item : config::split_list(s.get("cluster_tags"))) {
    auto eq = item.find('=');
    c.tags[config::trim(item.substr(0, eq))] = config::trim(item.substr(eq + 1));
  }
  c.log_level = s.get("log_level");
  c.data_dir = s.get("cluster_data_dir");
  c.datastore = s.has("pg_host");
  for (auto* key : {"pg_host", "pg_port", "pg_user", "pg_password", "pg_password_file",
                    "pg_database", "pg_ssl", "pg_ssl_verify"})
    if (s.has(key)) c.pg[key] = s.get(key);
  c.keepalive_interval = std::chrono::seconds(std::stoi(s.get("cluster_keepalive_interval")));
  c.page_release_interval = std::chrono::seconds(std::stoi(s.get("cluster_page_release_interval")));
  c.leave_timeout = std::chrono::seconds(std::stoi(s.get("cluster_leave_timeout")));
  return c;
}

AgentConfig kong_mode(AgentConfig c) {
  c.kong_mode = true;
  c.datastore = false;
  c.pg.clear();
  return c;
}

std::string resolve_node_name(const AgentConfig& c) {
  if (!c.node_name.empty()) return c.node_name;
  if (const char* pod = std::getenv("POD_NAME"); pod && *pod) return pod;
  std::filesystem::path id_file;
  if (!c.data_dir.empty()) {
    id_file = std::filesystem::path(c.data_dir) / "node-id";
    std::ifstream in(id_file);
    std::string saved;
    if (in && std::getline(in, saved) && !saved.empty()) return saved;
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  std::string hex;
  static const char* digits = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) hex.push_back(digits[rd() % 16]);
  std::string name = std::string(host) + "_" + c.bind + "_" + hex;  // Kong's serf.id format
  if (!id_file.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(id_file.parent_path(), ec);
    std::ofstream out(id_file);
    out << name << "\n";
    if (!out) kc::log::get("agent")->warn("cannot save node id to {}", id_file.string());
  }
  return name;
}

}  // namespace kc::agent

// `serf agent`: serf's agent flags mapped onto kong-cluster's agent in Kong mode. Kong
// 0.9/0.10 start it as `nohup <serf_path> agent -bind '...' -rpc-addr '...' -node '...'
// -event-handler '...' ...` (flags in any order). KONG_CLUSTER_* variables of the pod still
// apply underneath the flags (cluster_http_listen, cluster_advertise_mode, ...), and the
// Kubernetes awareness comes from the pod's environment as for `kong-cluster agent`.
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "agent/agent.h"
#include "agent/serf_cli/serf_commands.h"

namespace kc::serf_cli {

namespace {

struct AgentFlags {
  std::string bind, advertise, encrypt, keyring_file, log_level, node, role, rpc_addr, profile;
  std::vector<std::string> handlers, join, retry_join, tags;
  bool replay = false;
  int protocol = -1;
  // serf features kong-cluster does not have: accepted by the grammar, refused when used.
  std::vector<std::string> config_files;
  std::string snapshot, discover, iface, tags_file, retry_interval, broadcast_timeout;
  bool syslog = false, rejoin = false, disable_compression = false;
  int retry_max = 0;

  void bind_to(FlagSet& f) {
    f.string("bind", bind);
    f.string("advertise", advertise);
    f.list("config-file", config_files);
    f.list("config-dir", config_files);
    f.string("encrypt", encrypt);
    f.string("keyring-file", keyring_file);
    f.list("event-handler", handlers);
    f.list("join", join);
    f.boolean("replay", replay);
    f.string("log-level", log_level);
    f.string("node", node);
    f.integer("protocol", protocol);
    f.string("role", role);
    f.string("rpc-addr", rpc_addr);
    f.string("profile", profile);
    f.string("snapshot", snapshot);
    f.list("tag", tags);
    f.string("discover", discover);
    f.string("iface", iface);
    f.string("tags-file", tags_file);
    f.boolean("syslog", syslog);
    f.list("retry-join", retry_join);
    f.integer("retry-max", retry_max);
    f.string("retry-interval", retry_interval);
    f.boolean("rejoin", rejoin);
    f.boolean("disable-compression", disable_compression);
    f.string("broadcast-timeout", broadcast_timeout);
  }

  // The first flag given that asks for something kong-cluster does not do, or "".
  std::string unsupported(const FlagSet& f) const {
    for (const char* name : {"config-file", "config-dir", "snapshot", "discover", "iface",
                             "tags-file", "retry-max", "retry-interval", "broadcast-timeout"})
      if (f.was_set(name)) return name;
    if (syslog) return "syslog";
    if (rejoin) return "rejoin";
    if (disable_compression) return "disable-compression";
    if (protocol != -1 && protocol != 5) return "protocol";
    return "";
  }
};

std::string join_commas(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& x : items) out += (out.empty() ? "" : ",") + x;
  return out;
}

bool has_port(const std::string& addr) {
  if (!addr.empty() && addr[0] == '[') return addr.find("]:") != std::string::npos;
  return addr.find(':') != std::string::npos;
}

std::string port_of(const std::string& addr) {
  return addr.substr(addr.rfind(':') + 1);
}

// What serf's agent refuses about -keyring-file before it binds anything, in its words: an
// -encrypt key beside a keyring file (serf takes the keys from one place only), and a keyring
// file it cannot stat (Go's error text: "stat PATH: no such file or directory").
std::optional<std::string> keyring_setup_error(const AgentFlags& f) {
  if (f.keyring_file.empty()) return std::nullopt;
  if (!f.encrypt.empty()) return "Encryption key not allowed while using a keyring";
  struct stat st {};
  if (::stat(f.keyring_file.c_str(), &st) != 0) {
    std::string why = std::strerror(errno);
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    return "stat " + f.keyring_file + ": " + why;
  }
  return std::nullopt;
}

const char* const kUsage =
    "Usage: serf agent [options]\n\n"
    "  Starts a kong-cluster agent in Kong mode (Serf 0.9.4 wire and RPC protocol) and runs\n"
    "  until an interrupt or a `leave`.\n\n"
    "Options:\n\n"
    "  -bind=0.0.0.0:7946        Address to bind the gossip listeners to.\n"
    "  -advertise=addr           Address advertised to the other members.\n"
    "  -encrypt=key              Base64 gossip encryption key.\n"
    "  -keyring-file=path        Keyring file (JSON array of base64 keys).\n"
    "  -event-handler=[filter=]script  Script run for events (repeatable).\n"
    "  -join=addr                Address of an agent to join at start (repeatable).\n"
    "  -retry-join=addr          Same as -join; joining is retried while alone.\n"
    "  -log-level=info           trace, debug, info, warn or err.\n"
    "  -node=hostname            Name of this node, unique in the cluster.\n"
    "  -profile=lan              Timing profile: lan, wan or local.\n"
    "  -role=role                Deprecated: the `role` tag.\n"
    "  -rpc-addr=127.0.0.1:7373  Address of the RPC listener.\n"
    "  -tag key=value            Tag of this member (repeatable).\n";

}  // namespace

int agent(const Args& args, SerfIo io) {
  FlagSet flags;
  AgentFlags f;
  f.bind_to(flags);
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  if (auto name = f.unsupported(flags); !name.empty()) {
    io.out << "Error: -" << name << " is not supported by kong-cluster's serf agent\n";
    return 1;
  }
  if (auto err = keyring_setup_error(f)) {
    // serf's two lines (Kong shows the last line of serf.log: "could not start serf: ...").
    io.out << "==> Starting Serf agent...\n==> Failed to setup the Serf agent: " << *err << "\n";
    return 1;
  }
  using config::Settings;
  try {
    Settings s(agent::agent_keys(), agent::kong_foreign_keys(), agent::kong_foreign_prefixes());
    s.load_env([](const char* n) { return std::getenv(n); });
    auto flag = [&](const std::string& value, const char* key, const char* name) {
      if (!value.empty()) s.set(key, value, std::string("flag -") + name);
    };
    // serf's defaults where they differ from kong-cluster's: port 7946 when -bind has
    // none, the bind port when -advertise has none, the lan profile.
    std::string bind = f.bind;
    if (!bind.empty() && !has_port(bind)) bind += ":7946";
    std::string advertise = f.advertise;
    if (!advertise.empty() && !has_port(advertise)) {
      std::string bound = bind.empty() ? s.get("cluster_listen") : bind;
      advertise += ":" + port_of(bound);
    }
    flag(bind, "cluster_listen", "bind");
    flag(advertise, "cluster_advertise", "advertise");
    flag(f.rpc_addr, "cluster_listen_rpc", "rpc-addr");
    flag(f.encrypt, "cluster_encrypt_key", "encrypt");
    flag(f.keyring_file, "cluster_keyring_file", "keyring-file");
    flag(f.profile.empty() ? std::string("lan") : f.profile, "cluster_profile", "profile");
    flag(f.log_level, "log_level", "log-level");
    flag(f.node, "cluster_node_name", "node");
    std::vector<std::string> joins = f.join;
    joins.insert(joins.end(), f.retry_join.begin(), f.retry_join.end());
    flag(join_commas(joins), "cluster_join", "join");
    std::vector<std::string> tags = f.tags;
    if (!f.role.empty()) tags.push_back("role=" + f.role);
    if (!tags.empty()) {
      std::string from_env = s.get("cluster_tags");
      // Later items win, so a -tag overrides the same key from KONG_CLUSTER_TAGS.
      flag((from_env.empty() ? "" : from_env + ",") + join_commas(tags), "cluster_tags", "tag");
    }
    flag(join_commas(f.handlers), "cluster_event_handlers", "event-handler");
    return agent::run_agent(agent::kong_mode(agent::agent_config_from(s)));
  } catch (const config::ConfigError& e) {
    io.out << "Error: " << e.what() << "\n";  // Kong shows serf.log's last line
    return 1;
  }
}

}  // namespace kc::serf_cli

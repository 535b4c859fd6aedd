// The serf client commands: flags as serf defines them, defaults from SERF_RPC_ADDR and
// SERF_RPC_AUTH, checks and messages as serf's, then the shared kong-cluster client code.
#include <cstdlib>
#include <optional>

#include "agent/cli/commands.h"
#include "agent/cli/connect.h"
#include "agent/cli/format.h"
#include "agent/serf_cli/serf_commands.h"

namespace kc::serf_cli {

namespace {

// -rpc-addr and -rpc-auth on every command that talks to an agent. The auth default also
// falls back to kong-cluster's own variable, so an agent with cluster_rpc_auth stays
// usable from Kong's environment.
struct RpcFlags {
  cli::RpcOptions rpc;
  explicit RpcFlags(FlagSet& flags) {
    const char* addr = std::getenv("SERF_RPC_ADDR");
    rpc.addr = addr && *addr ? addr : "127.0.0.1:7373";
    for (const char* name : {"KONG_CLUSTER_RPC_AUTH", "SERF_RPC_AUTH"})
      if (const char* v = std::getenv(name)) rpc.auth = v;  // serf's own name wins
    rpc.serf_errors = true;
    flags.string("rpc-addr", rpc.addr);
    flags.string("rpc-auth", rpc.auth);
  }
};

const char* const kRpcHelp =
    "  -rpc-addr=127.0.0.1:7373  RPC address of the Serf agent.\n"
    "  -rpc-auth=\"\"              RPC auth token of the Serf agent.\n";

std::string usage(const std::string& synopsis, const std::string& what, const std::string& options,
                  bool rpc = true) {
  return "Usage: serf " + synopsis + "\n\n  " + what + "\n\nOptions:\n\n" + options +
         (rpc ? kRpcHelp : "");
}

cli::Io shared_io(SerfIo io) {
  return {io.out, io.out};
}

// `event` and `query` take NAME [PAYLOAD]; otherwise serf's message and the usage.
bool name_and_payload(const Args& rest, const char* what, const std::string& usage, SerfIo io,
                      std::string& name, std::optional<std::string>& payload) {
  if (rest.empty()) {
    io.out << what << " name must be specified.\n\n" << usage;
    return false;
  }
  if (rest.size() > 2) {
    io.out << "Too many command line arguments. Only a name and payload must be specified.\n\n"
           << usage;
    return false;
  }
  name = rest[0];
  if (rest.size() == 2) payload = rest[1];
  return true;
}

// An RPC error as serf's Go client words it: a request whose connection the agent closed
// (as it does on a filter it cannot compile) fails with "client closed" (serf_client's
// ClientError for it, in serf_client/client.cpp, says "connection closed by the agent").
std::string go_request_error(const std::exception& e) {
  if (std::string(e.what()) == "connection closed by the agent") return "client closed";
  return e.what();
}

}  // namespace

bool parse_or_usage(FlagSet& flags, const Args& args, const std::string& usage, SerfIo io) {
  auto err = flags.parse(args);
  if (!err) return true;
  if (*err != "help") io.flag_err << *err << "\n";
  io.out << usage;
  return false;
}

int members(const Args& args, SerfIo io) {
  FlagSet flags;
  bool detailed = false;
  std::string role;
  std::string status;
  std::string name;
  std::string format = "text";
  std::vector<std::string> tag_filters;
  flags.boolean("detailed", detailed);
  flags.string("role", role);
  flags.string("status", status);
  flags.string("format", format);
  flags.list("tag", tag_filters);
  flags.string("name", name);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("members [options]", "Outputs the members of a running Serf agent.",
            "  -detailed                 Protocol versions too (text output only).\n"
            "  -format                   json or text (default).\n"
            "  -name=<regexp>            Only members whose name matches (anchored).\n"
            "  -role=<regexp>            Deprecated: same as -tag role=<regexp>.\n"
            "  -status=<regexp>          Only members whose status matches (anchored).\n"
            "  -tag <key>=<regexp>       Only members with a matching tag (repeatable).\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  if (!role.empty()) {
    io.out << "Deprecation warning: 'Role' has been replaced with 'Tags'\n";
    tag_filters.push_back("role=" + role);
  }
  auto tags = cli::parse_tags(tag_filters, io.out);
  if (!tags) return 1;
  auto client = cli::connect(rpc.rpc, shared_io(io));
  if (!client) return 1;
  std::vector<serf_client::MemberInfo> list;
  try {
    list = client->members_filtered(*tags, status, name);
  } catch (const std::exception& e) {
    io.out << "Error retrieving members: " << go_request_error(e) << "\n";
    return 1;
  }
  if (format == "json") {
    io.out << cli::members_serf_json(list);
  } else if (format == "text") {
    io.out << cli::members_serf_text(list, detailed);
  } else {
    io.out << "Encoding error: Invalid output format \"" << format << "\"\n";
    return 1;
  }
  return 0;
}

int join(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::JoinOptions o;
  flags.boolean("replay", o.replay);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("join [options] address ...", "Tells a running Serf agent to join the cluster.",
            "  -replay                   Replay past user events.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  o.rpc = rpc.rpc;
  o.addrs = flags.args();
  if (o.addrs.empty()) {
    io.out << "At least one address to join must be specified.\n\n" << kUsage;
    return 1;
  }
  return cli::run_join(o, shared_io(io));
}

int leave(const Args& args, SerfIo io) {
  FlagSet flags;
  RpcFlags rpc(flags);
  static const std::string kUsage = usage(
      "leave", "Causes a running Serf agent to gracefully leave the cluster and shut down.", "");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  return cli::run_leave(rpc.rpc, shared_io(io));
}

int force_leave(const Args& args, SerfIo io) {
  FlagSet flags;
  bool prune = false;
  flags.boolean("prune", prune);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("force-leave [options] name", "Forces a member of the cluster into the left state.",
            "  -prune                    Remove the member from the list entirely.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  if (flags.args().size() != 1) {
    io.out << "A node name must be specified to force leave.\n\n" << kUsage;
    return 1;
  }
  auto client = cli::connect(rpc.rpc, shared_io(io));
  if (!client) return 1;
  try {
    client->force_leave(flags.args().front(), prune);  // serf prints nothing on success
  } catch (const std::exception& e) {
    io.out << "Error force leaving: " << go_request_error(e) << "\n";
    return 1;
  }
  return 0;
}

int event(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::EventOptions o;
  flags.boolean("coalesce", o.coalesce);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("event [options] name payload", "Dispatches a custom event across the Serf cluster.",
            "  -coalesce=true/false      Whether this event can be coalesced. Default is true.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  if (!name_and_payload(flags.args(), "An event", kUsage, io, o.name, o.payload)) return 1;
  o.rpc = rpc.rpc;
  return cli::run_event(o, shared_io(io));
}

int reachability(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::ReachabilityOptions o;
  flags.boolean("verbose", o.verbose);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("reachability [options]", "Tests the network reachability of this node.",
            "  -verbose                  Verbose mode.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  o.rpc = rpc.rpc;
  return cli::run_reachability(o, shared_io(io));
}

int keygen(const Args& args, SerfIo io) {
  (void)args;  // serf's keygen takes no flags and ignores its arguments
  return cli::run_keygen(shared_io(io));
}

int keys(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::KeysOptions o;
  flags.string("install", o.install);
  flags.string("use", o.use);
  flags.string("remove", o.remove);
  flags.boolean("list", o.list);
  RpcFlags rpc(flags);
  static const std::string kUsage = usage(
      "keys [options]...", "Manage the internal encryption keyring used by Serf.",
      "  -install=<key>            Install a new key onto every member's keyring.\n"
      "  -use=<key>                Change the primary key used for encrypting messages.\n"
      "  -remove=<key>             Remove a key from every member's keyring.\n"
      "  -list                     List every key in the cluster and how many members have it.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  int chosen = int{o.list} + !o.install.empty() + !o.use.empty() + !o.remove.empty();
  if (chosen > 1) {
    io.out << "Only one of -install, -use, -remove, or -list allowed\n";
    return 1;
  }
  if (chosen == 0) {
    io.out << kUsage;
    return 1;
  }
  o.rpc = rpc.rpc;
  return cli::run_keys(o, shared_io(io));
}

int query(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::QueryOptions o;
  flags.list("node", o.nodes);
  flags.list("tag", o.tags);
  flags.string("timeout", o.timeout);
  flags.boolean("no-ack", o.no_ack);
  flags.string("format", o.format);
  flags.integer("relay-factor", o.relay_factor);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("query [options] name payload", "Dispatches a query to the Serf cluster.",
            "  -format                   json or text (default).\n"
            "  -no-ack                   Do not request acknowledgements.\n"
            "  -node=NAME                Only ask this node (repeatable).\n"
            "  -relay-factor=N           Relay each response through N other nodes (0-255).\n"
            "  -tag key=regexp           Only ask nodes with a matching tag (repeatable).\n"
            "  -timeout=\"15s\"            How long to wait for responses.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  if (!o.timeout.empty() && !kc::parse_duration(o.timeout)) {
    io.flag_err << "invalid value \"" << o.timeout << "\" for flag -timeout: parse error\n";
    io.out << kUsage;
    return 1;
  }
  if (!name_and_payload(flags.args(), "A query", kUsage, io, o.name, o.payload)) return 1;
  if (o.relay_factor < 0 || o.relay_factor > 255) {
    io.out << "Relay factor must be between 0 and 255\n";
    return 1;
  }
  o.rpc = rpc.rpc;
  return cli::run_query(o, shared_io(io));
}

int monitor(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::MonitorOptions o;
  flags.string("log-level", o.log_level);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("monitor [options]", "Shows recent log messages of a Serf agent, and streams new ones.",
            "  -log-level=info           Log level of the agent.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  o.rpc = rpc.rpc;
  return cli::run_monitor(o, shared_io(io));
}

int info(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::InfoOptions o;
  flags.string("format", o.format);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("info [options]", "Provides debugging information for operators.",
            "  -format                   json or text (default).\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  o.rpc = rpc.rpc;
  return cli::run_info(o, shared_io(io));
}

int tags(const Args& args, SerfIo io) {
  FlagSet flags;
  cli::TagsOptions o;
  flags.list("set", o.set);
  flags.list("delete", o.del);
  RpcFlags rpc(flags);
  static const std::string kUsage =
      usage("tags [options] ...", "Modifies tags on a running Serf agent.",
            "  -set key=value            Creates or modifies the value of a tag.\n"
            "  -delete key               Removes a tag, if present.\n");
  if (!parse_or_usage(flags, args, kUsage, io)) return 1;
  if (o.set.empty() && o.del.empty()) {
    io.out << kUsage;
    return 1;
  }
  o.rpc = rpc.rpc;
  return cli::run_tags(o, shared_io(io));
}

}  // namespace kc::serf_cli

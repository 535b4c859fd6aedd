// CLI11 wiring: one subcommand per run_* function, GNU-style long options, --help
// everywhere (CLI11 adds it), --rpc-addr/--rpc-auth on every command that talks to the agent.
#include <memory>

#include "agent/cli/commands.h"

namespace kc::cli {

namespace {

void add_rpc_flags(CLI::App* sub, RpcOptions& rpc) {
  rpc = rpc_defaults_from_env();
  sub->add_option("--rpc-addr", rpc.addr, "RPC address of the agent (env KONG_CLUSTER_RPC_ADDR)")
      ->capture_default_str();
  sub->add_option("--rpc-auth", rpc.auth,
                  "RPC auth token of the agent (env KONG_CLUSTER_RPC_AUTH)");
}

}  // namespace

void register_commands(CLI::App& app, int& exit_code, Io io) {
  int* code = &exit_code;

  {
    auto o = std::make_shared<MembersOptions>();
    auto* sub = app.add_subcommand("members", "List the members of the cluster");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("--status", o->status, "Only members whose status matches (anchored regex)");
    sub->add_option("--name", o->name, "Only members whose name matches (anchored regex)");
    sub->add_option("--tag", o->tags, "key=regex: only members with a matching tag (repeatable)");
    sub->add_option("--format", o->format,
                    "text (name<TAB>ip:port<TAB>status), json (Kong's /cluster shape) or "
                    "serf-json (serf members -format json)")
        ->capture_default_str();
    sub->add_flag("--detailed", o->detailed, "Also print tags and protocol versions (text)");
    sub->callback([o, code, io] { *code = run_members(*o, io); });
  }
  {
    auto o = std::make_shared<JoinOptions>();
    auto* sub = app.add_subcommand("join", "Tell the agent to join a cluster");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("address", o->addrs, "host:port of one or more existing members");
    sub->add_flag("--replay", o->replay, "Replay past user events");
    sub->callback([o, code, io] { *code = run_join(*o, io); });
  }
  {
    auto o = std::make_shared<ForceLeaveOptions>();
    auto* sub =
        app.add_subcommand("force-leave", "Force a member (usually failed) into the left state");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("name", o->node, "Name of the node");
    sub->add_flag("--prune", o->prune, "Remove the member from the list entirely");
    sub->callback([o, code, io] { *code = run_force_leave(*o, io); });
  }
  {
    auto o = std::make_shared<RpcOptions>();
    auto* sub = app.add_subcommand("leave", "Gracefully leave the cluster and stop the agent");
    add_rpc_flags(sub, *o);
    sub->callback([o, code, io] { *code = run_leave(*o, io); });
  }
  {
    auto o = std::make_shared<EventOptions>();
    auto* sub = app.add_subcommand("event", "Send a custom (user) event");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("name", o->name, "Event name");
    sub->add_option("payload", o->payload, "Event payload");
    sub->add_flag("--coalesce,!--no-coalesce", o->coalesce,
                  "Whether the event may be coalesced (default true; --coalesce=false)");
    sub->callback([o, code, io] { *code = run_event(*o, io); });
  }
  {
    auto o = std::make_shared<ReachabilityOptions>();
    auto* sub = app.add_subcommand("reachability", "Test the network reachability of all members");
    add_rpc_flags(sub, o->rpc);
    sub->add_flag("--verbose,-v", o->verbose, "Print every ack and the timing");
    sub->callback([o, code, io] { *code = run_reachability(*o, io); });
  }
  {
    auto* sub = app.add_subcommand("keygen", "Generate a new encryption key (32 bytes, base64)");
    sub->callback([code, io] { *code = run_keygen(io); });
  }
  {
    auto o = std::make_shared<KeysOptions>();
    auto* sub = app.add_subcommand(
        "keys", "Manage the cluster's encryption keyring: install|use|remove KEY, or list");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("command", o->action, "install, use, remove or list");
    sub->add_option("key", o->key, "The base64 key (install, use, remove)");
    sub->add_option("--install", o->install, "Install a key on all members");
    sub->add_option("--use", o->use, "Make an installed key the primary one");
    sub->add_option("--remove", o->remove, "Remove a key from all members");
    sub->add_flag("--list", o->list, "List the keys and how many members have each");
    sub->callback([o, code, io] { *code = run_keys(*o, io); });
  }
  {
    auto o = std::make_shared<QueryOptions>();
    auto* sub = app.add_subcommand("query", "Send a query and print the answers");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("name", o->name, "Query name");
    sub->add_option("payload", o->payload, "Query payload");
    sub->add_option("--node", o->nodes, "Only ask this node (repeatable)");
    sub->add_option("--tag", o->tags, "key=regex: only ask nodes with a matching tag (repeatable)");
    sub->add_option("--timeout", o->timeout, "How long to wait, e.g. 5s (default: the agent's)");
    sub->add_flag("--no-ack", o->no_ack, "Do not ask nodes to acknowledge");
    sub->add_option("--relay-factor", o->relay_factor, "Relay responses through N extra nodes");
    sub->add_option("--format", o->format, "text or json")->capture_default_str();
    sub->callback([o, code, io] { *code = run_query(*o, io); });
  }
  {
    auto o = std::make_shared<MonitorOptions>();
    auto* sub =
        app.add_subcommand("monitor", "Stream the agent's log and events until interrupted");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("--log-level", o->log_level, "trace, debug, info, warn or err")
        ->capture_default_str();
    sub->callback([o, code, io] { *code = run_monitor(*o, io); });
  }
  {
    auto o = std::make_shared<InfoOptions>();
    auto* sub = app.add_subcommand("info", "Show the agent's debugging statistics");
    sub->alias("stats");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("--format", o->format, "text or json")->capture_default_str();
    sub->callback([o, code, io] { *code = run_info(*o, io); });
  }
  {
    auto o = std::make_shared<TagsOptions>();
    auto* sub = app.add_subcommand("tags", "Change the agent's tags");
    add_rpc_flags(sub, o->rpc);
    sub->add_option("--set", o->set, "key=value: create or change a tag (repeatable)");
    sub->add_option("--delete", o->del, "key: remove a tag (repeatable)");
    sub->callback([o, code, io] { *code = run_tags(*o, io); });
  }
}

}  // namespace kc::cli

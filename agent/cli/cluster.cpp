// members, join, force-leave, leave, event, tags, info: one RPC each.
#include <exception>

#include "agent/cli/commands.h"
#include "agent/cli/connect.h"
#include "agent/cli/format.h"

namespace kc::cli {

namespace {

// Runs `body` against a connected client; RPC failures print "<what>: <error>".
template <typename F>
int with_client(const RpcOptions& rpc, Io io, const char* what, F&& body) {
  auto client = connect(rpc, io);
  if (!client) return 1;
  try {
    return body(*client);
  } catch (const std::exception& e) {
    io.err << what << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int run_members(const MembersOptions& o, Io io) {
  if (o.format != "text" && o.format != "json" && o.format != "serf-json") {
    io.err << "Invalid output format \"" << o.format << "\" (use text, json or serf-json)\n";
    return 1;
  }
  auto tags = parse_tags(o.tags, io.err);
  if (!tags) return 1;
  return with_client(o.rpc, io, "Error retrieving members", [&](serf_client::Client& c) {
    auto members = c.members_filtered(*tags, o.status, o.name);
    if (o.format == "json")
      io.out << members_kong_json(members);
    else if (o.format == "serf-json")
      io.out << members_serf_json(members);
    else
      io.out << members_text(members, o.detailed);
    return 0;
  });
}

int run_join(const JoinOptions& o, Io io) {
  if (o.addrs.empty()) {
    io.err << "At least one address to join must be specified.\n";
    return 1;
  }
  return with_client(o.rpc, io, "Error joining the cluster", [&](serf_client::Client& c) {
    int n = c.join(o.addrs, o.replay);
    io.out << "Successfully joined cluster by contacting " << n << " nodes.\n";
    return 0;
  });
}

int run_force_leave(const ForceLeaveOptions& o, Io io) {
  if (o.node.empty()) {
    io.err << "must specify the name of the node to leave\n";  // Kong's wording
    return 1;
  }
  return with_client(o.rpc, io, "Error force leaving", [&](serf_client::Client& c) {
    io.out << "force-leaving " << o.node << "\n";
    c.force_leave(o.node, o.prune);
    io.out << (o.prune ? "pruned node " : "left node ") << o.node << "\n";
    return 0;
  });
}

int run_leave(const RpcOptions& rpc, Io io) {
  return with_client(rpc, io, "Error leaving", [&](serf_client::Client& c) {
    c.leave();
    io.out << "Graceful leave complete\n";
    return 0;
  });
}

int run_event(const EventOptions& o, Io io) {
  if (o.name.empty()) {
    io.err << "An event name must be specified.\n";
    return 1;
  }
  return with_client(o.rpc, io, "Error sending event", [&](serf_client::Client& c) {
    serf_client::Bytes payload;
    if (o.payload) payload.assign(o.payload->begin(), o.payload->end());
    c.user_event(o.name, payload, o.coalesce);
    io.out << "Event '" << o.name
           << "' dispatched! Coalescing enabled: " << (o.coalesce ? "true" : "false") << "\n";
    return 0;
  });
}

int run_tags(const TagsOptions& o, Io io) {
  if (o.set.empty() && o.del.empty()) {
    io.err << "Nothing to do: give --set key=value and/or --delete key.\n";
    return 1;
  }
  auto tags = parse_tags(o.set, io.err);
  if (!tags) return 1;
  return with_client(o.rpc, io, "Error setting tags", [&](serf_client::Client& c) {
    c.update_tags(*tags, o.del);
    io.out << "Successfully updated agent tags\n";
    return 0;
  });
}

int run_info(const InfoOptions& o, Io io) {
  if (o.format != "text" && o.format != "json") {
    io.err << "Invalid output format \"" << o.format << "\" (use text or json)\n";
    return 1;
  }
  return with_client(o.rpc, io, "Error querying agent", [&](serf_client::Client& c) {
    auto stats = c.stats();
    io.out << (o.format == "json" ? stats_json(stats) : stats_text(stats));
    return 0;
  });
}

}  // namespace kc::cli

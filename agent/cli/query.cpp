// query and reachability: both start a Serf query and read its ack/response records until
// the agent sends "done" at the query's deadline.
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/cli/commands.h"
#include "agent/cli/connect.h"
#include "agent/cli/format.h"

namespace kc::cli {

namespace {

struct QueryRecordView {
  std::string type;
  std::string from;
  serf_client::Bytes payload;
};

// Reads the records of query `seq` until "done". Returns false (after printing why) when
// the connection fails or a signal interrupts the wait.
bool drain_query(serf_client::Client& c, uint64_t seq, Io io,
                 const std::function<void(const QueryRecordView&)>& on_record) {
  while (true) {
    serf_client::StreamRecord rec;
    auto wait = c.next_record(rec, std::nullopt);
    if (wait == serf_client::Client::Wait::Interrupted) {
      io.err << "Test interrupted\n";
      return false;
    }
    if (wait != serf_client::Client::Wait::Record || rec.seq != seq) continue;
    QueryRecordView v;
    auto root = rec.body.root();
    v.type = root.get("Type").string();
    v.from = root.get("From").string();
    v.payload = root.get("Payload").bytes();
    if (v.type == "done") return true;
    on_record(v);
  }
}

std::string seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0.2f", std::chrono::duration<double>(d).count());
  return buf;
}

const char* const kTooManyAcks =
    "This could mean Serf is detecting false-failures due to a misconfiguration or network issue.";
const char* const kTooFewAcks =
    "This could mean Serf gossip packets are being lost due to a misconfiguration or network "
    "issue.";
const char* const kDuplicateResponses =
    "Duplicate responses means there is a misconfiguration. Verify that node names are unique.";
const char* const kTroubleshooting =
    "\nTroubleshooting tips:\n"
    "* Ensure that the bind addr:port is accessible by all other nodes\n"
    "* If an advertise address is set, ensure it routes to the bind address\n"
    "* Check that no nodes are behind a NAT\n"
    "* If nodes are behind firewalls or iptables, check that Serf traffic is permitted (UDP and "
    "TCP)\n"
    "* Verify networking equipment is functional";

}  // namespace

int run_reachability(const ReachabilityOptions& o, Io io) {
  auto client = connect(o.rpc, io);
  if (!client) return 1;
  try {
    client->interrupt_on_signals();
    auto members = client->members();
    std::set<std::string> live;
    for (const auto& m : members)
      if (m.status == "alive") live.insert(m.name);
    io.out << "Total members: " << members.size() << ", live members: " << live.size() << "\n";

    serf_client::QueryParams params;
    params.request_ack = true;
    params.name = "_serf_ping";
    uint64_t seq;
    try {
      seq = client->query(params);
    } catch (const serf_client::RemoteError& e) {
      io.err << "Error sending query: " << e.what() << "\n";
      return 1;
    }
    io.out << "Starting reachability test...\n";
    auto start = std::chrono::steady_clock::now();
    auto last = start;
    bool dups = false;
    size_t acks = 0;
    std::set<std::string> from;
    bool finished = drain_query(*client, seq, io, [&](const QueryRecordView& r) {
      if (r.type != "ack") return;
      if (o.verbose) io.out << "\tAck from '" << r.from << "'\n";
      ++acks;
      if (!from.insert(r.from).second) {
        dups = true;
        io.out << "Duplicate response from '" << r.from << "'\n";
      }
      last = std::chrono::steady_clock::now();
    });
    if (!finished) return 1;

    if (o.verbose) {
      io.out << "Query time: " << seconds(std::chrono::steady_clock::now() - start)
             << " sec, time to last response: " << seconds(last - start) << " sec\n";
    }
    int exit = 0;
    if (dups) {
      io.out << kDuplicateResponses << "\n";
      exit = 1;
    }
    if (acks == live.size()) {
      io.out << "Successfully contacted all live nodes\n";
    } else if (acks > live.size()) {
      io.out << "Received more acks than live nodes! Acks from non-live nodes:\n";
      for (const auto& n : from)
        if (!live.contains(n)) io.out << "\t" << n << "\n";
      io.out << kTooManyAcks << "\n" << kTroubleshooting << "\n";
      return 1;
    } else {
      io.out << "Received less acks than live nodes! Missing acks from:\n";
      for (const auto& n : live)
        if (!from.contains(n)) io.out << "\t" << n << "\n";
      io.out << kTooFewAcks << "\n" << kTroubleshooting << "\n";
      return 1;
    }
    return exit;
  } catch (const std::exception& e) {
    io.err << "Error getting members: " << e.what() << "\n";
    return 1;
  }
}

int run_query(const QueryOptions& o, Io io) {
  if (o.name.empty()) {
    io.err << "A query name must be specified.\n";
    return 1;
  }
  if (o.relay_factor < 0 || o.relay_factor > 255) {
    io.err << "Relay factor must be between 0 and 255\n";
    return 1;
  }
  if (o.format != "text" && o.format != "json") {
    io.err << "Invalid format: " << o.format << "\n";
    return 1;
  }
  auto tags = parse_tags(o.tags, io.err);
  if (!tags) return 1;
  serf_client::QueryParams params;
  if (!o.timeout.empty()) {
    auto d = parse_duration(o.timeout);
    if (!d) {
      io.err << "Invalid timeout \"" << o.timeout << "\" (a duration such as 5s or 500ms)\n";
      return 1;
    }
    params.timeout = *d;
  }
  params.filter_nodes = o.nodes;
  params.filter_tags = *tags;
  params.request_ack = !o.no_ack;
  params.relay_factor = static_cast<uint8_t>(o.relay_factor);
  params.name = o.name;
  if (o.payload) params.payload.assign(o.payload->begin(), o.payload->end());

  auto client = connect(o.rpc, io);
  if (!client) return 1;
  try {
    client->interrupt_on_signals();
    uint64_t seq;
    try {
      seq = client->query(params, !o.payload.has_value());
    } catch (const serf_client::RemoteError& e) {
      io.err << "Error sending query: " << e.what() << "\n";
      return 1;
    }
    std::vector<std::string> acks;
    std::map<std::string, std::string> responses;
    size_t num_resp = 0;
    if (o.format == "text") io.out << "Query '" << o.name << "' dispatched\n";
    bool finished = drain_query(*client, seq, io, [&](const QueryRecordView& r) {
      if (r.type == "ack") {
        acks.push_back(r.from);
        if (o.format == "text") io.out << "Ack from '" << r.from << "'\n";
      } else if (r.type == "response") {
        ++num_resp;
        std::string payload(r.payload.begin(), r.payload.end());
        responses[r.from] = payload;
        if (!payload.empty() && payload.back() == '\n') payload.pop_back();
        if (o.format == "text") io.out << "Response from '" << r.from << "': " << payload << "\n";
      }
    });
    if (!finished) return 1;
    if (o.format == "json") {
      nlohmann::ordered_json j;
      j["Acks"] = acks.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(acks);
      j["Responses"] = responses;
      io.out << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    } else {
      if (!o.no_ack) io.out << "Total Acks: " << acks.size() << "\n";
      io.out << "Total Responses: " << num_resp << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    io.err << "Error during query: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace kc::cli

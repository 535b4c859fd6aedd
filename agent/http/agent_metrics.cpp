#include "agent/http/agent_metrics.h"

#include "agent/events/dispatch.h"
#include "agent/events/kong_delivery.h"
#include "agent/events/orphan_reaper.h"
#include "agent/events/script_handlers.h"
#include "agent/gossip/memberlist.h"
#include "agent/gossip/messages.h"
#include "agent/rpc/server.h"
#include "agent/serf/serf.h"
#include "common/http/server.h"

namespace kc::agent_http {

using metrics::Sample;
using Samples = std::vector<Sample>;

namespace {

const gossip::GossipStats* gossip_stats(serf::Serf* s) {
  if (!s) return nullptr;
  auto* ml = s->memberlist().memberlist();
  return ml ? &ml->stats() : nullptr;
}

void gossip_metrics(metrics::Registry& r, serf::Serf* s) {
  auto counter = [&](const std::string& name, const std::string& help,
                     uint64_t gossip::GossipStats::*field) {
    r.add_counter("kong_cluster_gossip_" + name, help, [s, field] {
      auto* st = gossip_stats(s);
      return st ? static_cast<double>(st->*field) : 0.0;
    });
  };
  r.add_counter("kong_cluster_gossip_packets_total", "UDP gossip packets by direction.", [s] {
    auto* st = gossip_stats(s);
    double in = st ? static_cast<double>(st->packets_received) : 0.0;
    double out = st ? static_cast<double>(st->packets_sent) : 0.0;
    return Samples{{{{"direction", "received"}}, in}, {{{"direction", "sent"}}, out}};
  });
  counter("packets_dropped_total",
          "Packets dropped as undecodable, corrupt, undecryptable or of unknown type.",
          &gossip::GossipStats::packets_dropped);
  r.add_counter("kong_cluster_gossip_drops_total",
                "Hostile or broken gossip input thrown away, by reason.", [s] {
                  Samples out;
                  auto* st = gossip_stats(s);
                  for (size_t i = 0; i < gossip::kDropReasons; ++i) {
                    auto reason = gossip::to_string(static_cast<gossip::DropReason>(i));
                    out.push_back({{{"reason", reason}}, st ? double(st->drops[i]) : 0.0});
                  }
                  return out;
                });
  counter("streams_received_total", "TCP gossip streams accepted (push/pull, pings, user).",
          &gossip::GossipStats::streams_received);
  counter("streams_dropped_total", "TCP gossip streams dropped as malformed or failed.",
          &gossip::GossipStats::streams_dropped);
  counter("push_pulls_total", "Full state exchanges (push/pull) completed.",
          &gossip::GossipStats::push_pulls);
  counter("probes_total", "Failure-detector probes sent.", &gossip::GossipStats::probes);
  counter("probe_failures_total", "Probes that got no ack in time.",
          &gossip::GossipStats::probe_failures);
  counter("refutations_total", "Times this node refuted a suspicion or death about itself.",
          &gossip::GossipStats::refutations);
  counter("suspicions_total", "Members this node began to suspect (own probe or gossip).",
          &gossip::GossipStats::suspicions);
  // Acks, nacks, pings, alive/suspect/dead broadcasts, ... by type and direction.
  auto by_type = [s](uint64_t gossip::MessageTally::*field) {
    Samples out;
    auto* st = gossip_stats(s);
    for (size_t i = 0; st && i < gossip::kGossipMessageTypes; ++i) {
      auto type = gossip::to_string(static_cast<gossip::MsgType>(i));
      const auto& in = st->received[i];
      const auto& sent = st->sent[i];
      if (in.messages)
        out.push_back({{{"type", type}, {"direction", "received"}}, double(in.*field)});
      if (sent.messages)
        out.push_back({{{"type", type}, {"direction", "sent"}}, double(sent.*field)});
    }
    return out;
  };
  r.add_counter("kong_cluster_gossip_messages_total",
                "Memberlist messages by type and direction (compound parts counted singly).",
                [by_type] { return by_type(&gossip::MessageTally::messages); });
  r.add_counter("kong_cluster_gossip_message_bytes_total",
                "Bytes of memberlist messages by type and direction, before compression and "
                "encryption.",
                [by_type] { return by_type(&gossip::MessageTally::bytes); });
  r.add_gauge("kong_cluster_gossip_health_score",
              "Lifeguard awareness score: 0 is healthy, higher means this node is degraded.",
              [s] { return s ? static_cast<double>(s->memberlist().health_score()) : 0.0; });
}

void serf_metrics(metrics::Registry& r, serf::Serf* s, const events::EventCounts* events) {
  r.add_gauge("kong_cluster_members", "Members known to this node, by status.", [s] {
    std::map<std::string, double> n = {{"alive", 0}, {"leaving", 0}, {"left", 0}, {"failed", 0}};
    if (s)
      for (auto& m : s->members()) n[serf::to_string(m.status)] += 1;
    Samples out;
    for (auto& [status, v] : n) out.push_back({{{"status", status}}, v});
    return out;
  });
  r.add_gauge("kong_cluster_serf_queue_depth", "Messages waiting in Serf's broadcast queues.", [s] {
    double i = s ? static_cast<double>(s->intent_queue_depth()) : 0.0;
    double e = s ? static_cast<double>(s->event_queue_depth()) : 0.0;
    double q = s ? static_cast<double>(s->query_queue_depth()) : 0.0;
    return Samples{
        {{{"queue", "intent"}}, i}, {{{"queue", "event"}}, e}, {{{"queue", "query"}}, q}};
  });
  r.add_gauge("kong_cluster_serf_lamport_time", "Serf's Lamport clocks.", [s] {
    double m = s ? static_cast<double>(s->member_clock()) : 0.0;
    double e = s ? static_cast<double>(s->event_clock()) : 0.0;
    double q = s ? static_cast<double>(s->query_clock()) : 0.0;
    return Samples{
        {{{"clock", "member"}}, m}, {{{"clock", "event"}}, e}, {{{"clock", "query"}}, q}};
  });
  r.add_gauge("kong_cluster_gossip_encrypted", "1 when gossip is encrypted.",
              [s] { return s && s->encryption_enabled() ? 1.0 : 0.0; });
  r.add_counter("kong_cluster_serf_messages_received_total",
                "Serf messages received inside gossip user messages, by Serf type.", [s] {
                  Samples out;
                  for (size_t i = 0; s && i < serf::SerfCounters::kTypes; ++i)
                    if (auto n = s->counters().received[i])
                      out.push_back({{{"type", serf::to_string(serf::MessageType(i))}}, double(n)});
                  return out;
                });
  r.add_counter("kong_cluster_serf_malformed_messages_total",
                "Serf messages dropped as undecodable or of an unknown type.",
                [s] { return s ? double(s->counters().malformed) : 0.0; });
  r.add_counter("kong_cluster_serf_intents_dropped_total",
                "Join/leave intents for unknown members refused because the table of recent "
                "intents was full (a flood of invented names).",
                [s] { return s ? double(s->counters().intents_dropped) : 0.0; });
  r.add_counter("kong_cluster_serf_originated_total",
                "User events and queries this node sent, and responses its queries received.", [s] {
                  double e = s ? static_cast<double>(s->counters().events_sent) : 0.0;
                  double q = s ? static_cast<double>(s->counters().queries_sent) : 0.0;
                  double answers = s ? static_cast<double>(s->counters().query_responses) : 0.0;
                  return Samples{{{{"kind", "user_event"}}, e},
                                 {{{"kind", "query"}}, q},
                                 {{{"kind", "query_response"}}, answers}};
                });
  r.add_counter("kong_cluster_serf_events_total",
                "Events Serf delivered to this agent after coalescing, by type.", [events] {
                  Samples out;
                  if (events)
                    for (auto& [type, n] : events->by_type)
                      out.push_back({{{"type", type}}, static_cast<double>(n)});
                  return out;
                });
}

void rpc_metrics(metrics::Registry& r, const rpc::Server* rpc) {
  r.add_gauge("kong_cluster_rpc_connections", "Open RPC client connections.",
              [rpc] { return rpc ? static_cast<double>(rpc->connections()) : 0.0; });
  r.add_counter("kong_cluster_rpc_connections_total", "RPC connections, by outcome.", [rpc] {
    double a = rpc ? static_cast<double>(rpc->accepted()) : 0.0;
    double j = rpc ? static_cast<double>(rpc->rejected()) : 0.0;
    double s = rpc ? static_cast<double>(rpc->shed()) : 0.0;
    return Samples{
        {{{"result", "accepted"}}, a}, {{{"result", "rejected"}}, j}, {{{"result", "shed"}}, s}};
  });
  r.add_counter("kong_cluster_rpc_connection_timeouts_total",
                "RPC connections closed by a deadline: no handshake and auth in time (auth), "
                "or no request for too long (idle).",
                [rpc] {
                  double a = rpc ? static_cast<double>(rpc->auth_timeouts()) : 0.0;
                  double i = rpc ? static_cast<double>(rpc->idle_timeouts()) : 0.0;
                  return Samples{{{{"phase", "auth"}}, a}, {{{"phase", "idle"}}, i}};
                });
  r.add_counter("kong_cluster_rpc_auth_failures_total",
                "RPC `auth` requests with a wrong token (each answered late, then closed).",
                [rpc] { return rpc ? static_cast<double>(rpc->counters().auth_failures) : 0.0; });
  r.add_counter("kong_cluster_rpc_requests_total", "RPC requests handled.",
                [rpc] { return rpc ? static_cast<double>(rpc->counters().requests) : 0.0; });
  r.add_counter("kong_cluster_rpc_protocol_errors_total",
                "RPC connections closed for undecodable input or a protocol violation.",
                [rpc] { return rpc ? static_cast<double>(rpc->counters().protocol_errors) : 0.0; });
  r.add_counter("kong_cluster_rpc_dropped_records_total",
                "Stream and monitor records dropped for slow RPC readers.",
                [rpc] { return rpc ? static_cast<double>(rpc->counters().dropped_records) : 0.0; });
}

void http_metrics(metrics::Registry& r, const http::Server* h, const http::Server* probe) {
  r.add_counter(
      "kong_cluster_http_connections_total",
      "HTTP connections by listener (api, probe) and outcome: accepted, shed (an idle one "
      "closed to make room), rejected (at the cap with none idle).",
      [h, probe] {
        Samples out;
        for (auto [name, server] : {std::pair{"api", h}, std::pair{"probe", probe}}) {
          if (!server) continue;
          auto& c = server->counters();
          out.push_back({{{"listener", name}, {"result", "accepted"}}, double(c.accepted)});
          out.push_back({{{"listener", name}, {"result", "shed"}}, double(c.shed)});
          out.push_back({{{"listener", name}, {"result", "rejected"}}, double(c.rejected)});
        }
        return out;
      });
  r.add_gauge("kong_cluster_http_connections", "Open HTTP connections.",
              [h] { return h ? static_cast<double>(h->connections()) : 0.0; });
  r.add_counter("kong_cluster_http_bad_requests_total",
                "HTTP requests rejected while parsing (malformed, too large).",
                [h] { return h ? static_cast<double>(h->counters().bad_requests) : 0.0; });
  r.add_counter("kong_cluster_http_timeouts_total", "HTTP reads or handlers cut off by a timeout.",
                [h] { return h ? static_cast<double>(h->counters().timeouts) : 0.0; });
}

void handler_metrics(metrics::Registry& r, const events::ScriptHandlers* h,
                     const events::OrphanReaper* reaper) {
  r.add_counter("kong_cluster_event_handler_orphans_reaped_total",
                "Processes that handler scripts left behind, reaped by the agent when they exited.",
                [reaper] { return reaper ? static_cast<double>(reaper->reaped()) : 0.0; });
  r.add_counter("kong_cluster_event_handler_runs_total", "Event handler invocations, by result.",
                [h] {
                  Samples out;
                  if (!h) return out;
                  auto& s = h->stats();
                  auto ok = static_cast<double>(s.runs - s.failures - s.timeouts - s.spawn_errors);
                  out.push_back({{{"result", "success"}}, ok});
                  out.push_back({{{"result", "failure"}}, static_cast<double>(s.failures)});
                  out.push_back({{{"result", "timeout"}}, static_cast<double>(s.timeouts)});
                  out.push_back({{{"result", "spawn_error"}}, static_cast<double>(s.spawn_errors)});
                  return out;
                });
  r.add_counter("kong_cluster_event_handler_dropped_total",
                "Events not given to a handler because its queue was full.",
                [h] { return h ? static_cast<double>(h->stats().dropped) : 0.0; });
  r.add_counter("kong_cluster_event_handler_query_responses_total",
                "Queries answered with a handler's output.",
                [h] { return h ? static_cast<double>(h->stats().query_responses) : 0.0; });
  r.add_gauge("kong_cluster_event_handler_running", "Event handler processes running.",
              [h] { return h ? static_cast<double>(h->stats().running) : 0.0; });
  r.add_gauge("kong_cluster_event_handler_queued", "Events waiting for a handler.",
              [h] { return h ? static_cast<double>(h->stats().queued) : 0.0; });
  r.add_summary("kong_cluster_event_handler_duration_seconds", "Event handler run time.", [h] {
    std::vector<metrics::SummarySample> out;
    if (h) out.push_back({{}, h->stats().runs, h->stats().seconds_sum});
    return out;
  });
}

void kong_metrics(metrics::Registry& r, const events::KongDelivery* k) {
  r.add_counter("kong_cluster_kong_events_total",
                "Events for the local Kong Admin API, by final outcome.", [k] {
                  Samples out;
                  if (!k) return out;
                  auto& s = k->stats();
                  out.push_back({{{"result", "delivered"}}, static_cast<double>(s.delivered)});
                  out.push_back({{{"result", "rejected"}}, static_cast<double>(s.rejected)});
                  out.push_back({{{"result", "dropped"}}, static_cast<double>(s.dropped)});
                  return out;
                });
  r.add_counter("kong_cluster_kong_delivery_retries_total",
                "Requests to the Kong Admin API repeated after a failure.",
                [k] { return k ? static_cast<double>(k->stats().retries) : 0.0; });
  r.add_gauge("kong_cluster_kong_delivery_queued", "Events waiting for the Kong Admin API.",
              [k] { return k ? static_cast<double>(k->stats().queued) : 0.0; });
  r.add_summary("kong_cluster_kong_delivery_duration_seconds",
                "Time of each request to the Kong Admin API.", [k] {
                  std::vector<metrics::SummarySample> out;
                  if (k) out.push_back({{}, k->stats().attempts, k->stats().seconds_sum});
                  return out;
                });
}

}  // namespace

void register_agent_metrics(metrics::Registry& r, const MetricSources& src) {
  r.add_gauge("kong_cluster_build_info", "Build information; the value is always 1.",
              [v = src.version] {
                return Samples{{{{"version", v}}, 1.0}};
              });
  gossip_metrics(r, src.serf);
  serf_metrics(r, src.serf, src.events);
  rpc_metrics(r, src.rpc);
  http_metrics(r, src.http, src.probe_http);
  handler_metrics(r, src.handlers, src.orphan_reaper);
  kong_metrics(r, src.kong);
}

}  // namespace kc::agent_http

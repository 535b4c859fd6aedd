#include "agent/datastore_link.h"

#include "agent/serf/serf.h"
#include "common/metrics/registry.h"
#include "datastore/pg_client.h"
#include "datastore/pg_config.h"
#include "datastore/registrar.h"

namespace kc::agent {

DatastoreLink::DatastoreLink(boost::asio::io_context& io, const AgentConfig& config,
                             serf::Serf& serf)
    : serf_(serf) {
  std::vector<std::string> errors;
  auto pg = datastore::pg_config_from(
      [&](std::string_view key) -> std::optional<std::string> {
        auto it = config.pg.find(std::string(key));
        if (it == config.pg.end()) return std::nullopt;
        return it->second;
      },
      errors);
  if (!errors.empty()) throw config::ConfigError(errors.front());
  datastore::ClientOptions copts;
  copts.application_name = "kong-cluster " + serf.name();
  client_ = std::make_unique<datastore::PgClient>(io, pg, copts);
  datastore::RegistrarOptions ropts;
  ropts.name = serf.name();
  ropts.address = serf.local_member().addr.to_string();
  ropts.ttl_on_failure = std::chrono::seconds(config.ttl_on_failure);
  ropts.keepalive_interval = config.keepalive_interval;
  auto join = [this](const std::vector<std::string>& addresses, std::function<void(int)> done) {
    serf_.join(addresses, /*ignore_old=*/true,
               [done = std::move(done)](int joined, const std::string&) { done(joined); });
  };
  auto count = [this] {
    size_t alive = 0;
    for (auto& m : serf_.members()) alive += m.status == serf::MemberStatus::Alive;
    return alive;
  };
  registrar_ = std::make_unique<datastore::Registrar>(io, *client_, ropts, join, count);
}

DatastoreLink::~DatastoreLink() {
  if (subscription_) serf_.unsubscribe(subscription_);
}

void DatastoreLink::start() {
  // Kong deleted the row of a member that left gracefully; a failed member keeps its row
  // until its TTL (or until the operator prunes it).
  subscription_ = serf_.subscribe([this](const serf::Event& e) {
    auto* m = std::get_if<serf::MemberEvent>(&e);
    if (!m) return;
    for (auto& member : m->members) {
      if (member.name == serf_.name()) continue;
      if (m->type == serf::EventType::MemberLeave || m->type == serf::EventType::MemberReap)
        registrar_->on_member_left(member.name);
      else if (m->type == serf::EventType::MemberJoin)
        registrar_->on_member_joined(member.name);
    }
  });
  client_->start();
  registrar_->start();
}

void DatastoreLink::stop(std::function<void()> done) {
  registrar_->stop([this, done = std::move(done)] {
    client_->close();
    done();
  });
}

bool DatastoreLink::registered() const {
  return registrar_->registered();
}

void DatastoreLink::export_metrics(metrics::Registry& r) const {
  const auto& c = client_->metrics();
  const auto& g = registrar_->metrics();
  r.add_gauge("kong_cluster_datastore_up", "1 while connected to Postgres",
              [&c] { return c.up ? 1.0 : 0.0; });
  r.add_counter("kong_cluster_datastore_queries_total", "Datastore queries completed",
                [&c] { return double(c.queries); });
  r.add_counter("kong_cluster_datastore_query_duration_seconds_total",
                "Summed latency of completed datastore queries",
                [&c] { return c.query_seconds_sum; });
  r.add_counter("kong_cluster_datastore_query_errors_total", "Datastore queries that failed",
                [&c] { return double(c.query_errors + c.rejected); });
  r.add_counter("kong_cluster_datastore_connect_failures_total", "Failed connection attempts",
                [&c] { return double(c.connect_failures); });
  r.add_counter("kong_cluster_datastore_protocol_errors_total",
                "Connections dropped for a malformed server message or an unsupported "
                "authentication method",
                [&c] { return double(c.protocol_errors); });
  r.add_gauge("kong_cluster_datastore_live_rows", "Live rows in the nodes table at the last read",
              [&g] { return double(g.live_rows); });
  r.add_counter("kong_cluster_datastore_registrations_total", "Own nodes row inserted",
                [&g] { return double(g.registrations); });
  r.add_counter("kong_cluster_datastore_registration_failures_total",
                "Failed registration attempts", [&g] { return double(g.registration_failures); });
  r.add_counter("kong_cluster_datastore_keepalive_failures_total", "Failed TTL refreshes",
                [&g] { return double(g.keepalive_failures); });
  r.add_counter("kong_cluster_datastore_reinserts_total",
                "Own row found deleted and inserted again", [&g] { return double(g.reinserts); });
  r.add_counter("kong_cluster_datastore_purged_rows_total", "Expired rows deleted",
                [&g] { return double(g.purged_rows); });
}

}  // namespace kc::agent

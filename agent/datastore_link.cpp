#include "agent/datastore_link.h"

#include "agent/datastore/pg_client.h"
#include "agent/datastore/pg_config.h"
#include "agent/datastore/registrar.h"
#include "agent/serf/serf.h"

namespace kc::agent {

DatastoreLink::DatastoreLink(boost::asio::io_context& io, const AgentConfig& config, serf::Serf& serf)
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
  auto join = [this](std::vector<std::string> addresses, std::function<void(int)> done) {
    serf_.join(addresses, /*ignore_old=*/true,
               [done](int joined, const std::string&) { done(joined); });
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
  registrar_->stop([this, done] {
    client_->close();
    done();
  });
}

bool DatastoreLink::registered() const { return registrar_->registered(); }

}  // namespace kc::agent

// Ties the agent to Kong's `nodes` table: registers our advertised address, joins the live
// rows (with auto-join while alone), deletes the row of a member that left, and deletes ours
// on a graceful leave. Present only when pg_host is configured.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <memory>

#include "agent/agent_config.h"

namespace kc::serf {
class Serf;
}
namespace kc::datastore {
class PgClient;
class Registrar;
}  // namespace kc::datastore

namespace kc::metrics {
class Registry;
}

namespace kc::agent {

class DatastoreLink {
 public:
  // Throws config::ConfigError naming the pg_* key when the settings are invalid.
  DatastoreLink(boost::asio::io_context& io, const AgentConfig& config, serf::Serf& serf);
  ~DatastoreLink();
  void start();
  // Deletes our row (bounded by the registrar's stop timeout), then `done`.
  void stop(std::function<void()> done);
  bool registered() const;
  // kong_cluster_datastore_* series, read at scrape time (the registry must not outlive us).
  void export_metrics(metrics::Registry& registry) const;
  const datastore::PgClient& client() const { return *client_; }
  const datastore::Registrar& registrar() const { return *registrar_; }

 private:
  serf::Serf& serf_;
  std::unique_ptr<datastore::PgClient> client_;
  std::unique_ptr<datastore::Registrar> registrar_;
  int subscription_ = 0;
};

}  // namespace kc::agent

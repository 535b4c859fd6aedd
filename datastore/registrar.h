// The agent's life in Kong's `nodes` table, as Kong 0.10 documented it and with its
// Kubernetes failures fixed:
//   start      delete our stale row; join the live rows' addresses, newest first (the
//              agent joins them in parallel with a short timeout); insert our row with
//              ttl_on_failure. Postgres down: retry with backoff and jitter, and at once
//              when the connection comes back.
//   auto-join  every 3 s for 60 s after registering, while we are the only member, join
//              the rows again (two nodes started together find each other).
//   keepalive  every 30 s refresh our TTL; re-insert our row if something deleted it.
//   leave      stop() deletes our row; a member-leave event deletes that member's row.
//   purge      every 60 s delete expired rows, and give TTL-less rows one.
// It knows nothing of gossip: the agent passes a join callback and a member count.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/lifetime.h"
#include "datastore/metrics.h"
#include "datastore/nodes_table.h"
#include "datastore/pg_client.h"

namespace spdlog {
class logger;
}

namespace kc::datastore {

struct RegistrarOptions {
  std::string name;                           // our member name, the row's primary key
  std::string address;                        // advertised ip:port that other nodes can reach
  std::chrono::seconds ttl_on_failure{3600};  // cluster_ttl_on_failure, at least 60
  std::chrono::milliseconds keepalive_interval{30000};
  std::chrono::milliseconds autojoin_interval{3000};
  std::chrono::milliseconds autojoin_window{60000};  // counted from registration
  std::chrono::milliseconds purge_interval{60000};
  std::chrono::milliseconds join_timeout{15000};  // longest wait for the join callback
  std::chrono::milliseconds stop_timeout{5000};   // longest wait for the row delete in stop()
  std::chrono::milliseconds retry_initial{1000};  // start-sequence retry backoff
  std::chrono::milliseconds retry_max{30000};
  bool adopt_orphans = true;  // give TTL-less rows ttl_on_failure when purging

  // One message per problem, naming the setting; empty when valid.
  std::vector<std::string> validate() const;
};

// Joins the given addresses (in parallel, with a short timeout) and reports how many joins
// succeeded. May complete on the io_context or from any thread.
using JoinFn =
    std::function<void(std::vector<std::string> addresses, std::function<void(int joined)> done)>;
// How many members the agent sees alive, itself included.
using MemberCountFn = std::function<size_t()>;

class Registrar {
 public:
  // `client` must outlive the Registrar. Throws std::invalid_argument on invalid options.
  Registrar(boost::asio::io_context& io, PgClient& client, RegistrarOptions options, JoinFn join,
            MemberCountFn alive_member_count);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  void start();
  // Graceful leave: stops the timers and deletes our row; `done` runs (posted) when the
  // delete finished, failed, or stop_timeout passed. Final.
  void stop(std::function<void()> done);

  // Gossip events from the agent.
  void on_member_left(const std::string& name);    // deletes that member's row
  void on_member_joined(const std::string& name);  // cancels a delete still pending for it

  bool registered() const { return registered_; }
  const RegistrarMetrics& metrics() const { return metrics_; }
  const RegistrarOptions& options() const { return options_; }

 private:
  // Start sequence (registrar.cpp).
  void run_start_sequence();
  void delete_stale_row();
  void join_live_rows();
  void insert_own_row();
  void on_registered(const InsertOutcome& outcome);
  void sequence_failed(const char* step, const PgError& error);
  void schedule_retry();
  void join(std::vector<std::string> addresses, std::function<void()> next);
  std::vector<std::string> candidates(const std::vector<NodeRow>& rows) const;
  void on_connection(bool up);

  // Periodic work and member events (registrar_periodic.cpp).
  void arm(boost::asio::steady_timer& timer, std::chrono::milliseconds after,
           void (Registrar::*tick)());
  void keepalive_tick();
  void keepalive_now();
  void autojoin_tick();
  void purge_tick();
  void flush_pending_deletes();
  void delete_member_row(const std::string& name);

  boost::asio::io_context& io_;
  PgClient& client_;
  NodesTable table_;
  RegistrarOptions options_;
  JoinFn join_;
  MemberCountFn alive_member_count_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer keepalive_timer_;
  boost::asio::steady_timer autojoin_timer_;
  boost::asio::steady_timer purge_timer_;
  boost::asio::steady_timer join_timer_;
  boost::asio::steady_timer stop_timer_;
  Backoff retry_backoff_;
  int subscription_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool schema_ready_ = false;
  bool registered_ = false;
  bool sequence_running_ = false;
  bool retry_pending_ = false;
  bool join_in_flight_ = false;
  bool keepalive_running_ = false;
  bool autojoin_armed_ = false;
  std::chrono::steady_clock::time_point autojoin_deadline_;
  std::set<std::string> pending_deletes_;  // member rows to delete once Postgres is back
  RegistrarMetrics metrics_;
  LifetimeToken lifetime_;
};

}  // namespace kc::datastore

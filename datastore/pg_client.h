// A non-blocking Postgres client on the agent's io_context: libpq's asynchronous API
// (PQconnectStart/PQconnectPoll, PQsendQueryParams/PQconsumeInput/PQisBusy) with the
// connection's socket watched by Asio. One connection, jobs run one after another in
// submission order, reconnect with exponential backoff and jitter when the connection drops.
// libpq is called through a table loaded on the first PgClient (libpq_api.h), so a process
// that never constructs one never maps libpq.
//
// While disconnected and waiting to retry, new jobs fail at once (PgError::unavailable())
// instead of piling up: callers such as the Registrar own their retry policy, and an agent
// whose Postgres is down must keep gossiping, not buffer minutes of stale keepalives.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/lifetime.h"
#include "datastore/libpq_api.h"
#include "datastore/metrics.h"
#include "datastore/pg_config.h"
#include "datastore/pg_result.h"

namespace spdlog {
class logger;
}

namespace kc::datastore {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};  // name resolution + TCP + TLS + auth
  std::chrono::milliseconds query_timeout{10000};   // per job; on expiry the connection resets
  std::chrono::milliseconds reconnect_initial{250};
  std::chrono::milliseconds reconnect_max{30000};
  size_t max_queue = 256;
  std::string application_name = "kong-cluster";  // shows in pg_stat_activity
};

class PgClient {
 public:
  // Throws std::invalid_argument for an invalid configuration, then LibPqMissing when libpq
  // cannot be loaded.
  PgClient(boost::asio::io_context& io, PgConfig config, ClientOptions options = {});
  ~PgClient();  // close()
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;

  // Connects, and keeps reconnecting until close(). Submitting a job also starts it.
  void start();
  // Closes the connection; queued jobs fail with Kind::closed. Final.
  void close();

  // One statement. The handler always runs later on the io_context, never inside this call.
  void execute(Statement statement, ResultHandler handler);
  // Statements run in order inside BEGIN ... COMMIT; the first error rolls back and ends
  // the job. The result holds one Rows per statement that ran.
  void transaction(std::vector<Statement> statements, ResultHandler handler);

  bool connected() const { return state_ == State::ready; }
  // Called (posted) with true after every successful connect and false when it drops.
  int subscribe(std::function<void(bool up)> listener);
  void unsubscribe(int id);

  const ClientMetrics& metrics() const { return metrics_; }
  const PgConfig& config() const { return config_; }
  // The last connection error text, for status output.
  const std::string& last_error() const { return last_error_; }

 private:
  enum class State { idle, connecting, ready, backoff, closed };
  struct Job {
    uint64_t id = 0;
    std::vector<Statement> steps;
    std::vector<bool> internal;  // BEGIN/COMMIT/ROLLBACK: not reported in the result
    bool transactional = false;
    bool rolling_back = false;
    size_t current = 0;
    ResultHandler handler;
    Result result;
    std::chrono::steady_clock::time_point started;
  };

  // Connection (pg_connect.cpp).
  void connect();
  void start_connect(const std::string& hostaddr);
  void wait_connect();
  void continue_connect(uint64_t attempt);
  void on_connected();
  void connect_failed(const std::string& message);
  void connection_lost(PgError::Kind kind, const std::string& message);
  void schedule_reconnect();
  void teardown();
  void rebind_socket();
  void notify(bool up);

  // Jobs (pg_client.cpp).
  void submit(std::unique_ptr<Job> job);
  void reject(std::unique_ptr<Job> job, PgError::Kind kind, const std::string& message);
  void fail_all(PgError::Kind kind, const std::string& message);
  void pump();
  void start_next_job();
  void send_step();
  void flush();
  void on_readable();
  void process_results();
  void take_result(PGresult* result);
  void step_done();
  void finish_job();
  void arm_read();
  void arm_write();
  bool ssl_pending() const;
  PgError make_error(PgError::Kind kind, std::string message, std::string sqlstate) const;
  static void on_notice(void* self, const char* message);

  boost::asio::io_context& io_;
  const LibPq* pq_ = nullptr;
  PgConfig config_;
  ClientOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  State state_ = State::idle;
  PGconn* conn_ = nullptr;
  PostgresPollingStatusType poll_status_ = PGRES_POLLING_WRITING;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer query_timer_;
  Backoff backoff_;
  uint64_t attempt_ = 0;     // connect attempts, to ignore stale completions
  uint64_t socket_gen_ = 0;  // socket bindings, same purpose
  bool reading_ = false;
  bool writing_ = false;
  bool flush_pending_ = false;
  std::deque<std::unique_ptr<Job>> queue_;
  std::unique_ptr<Job> job_;
  uint64_t next_job_id_ = 1;
  std::map<int, std::function<void(bool)>> listeners_;
  int next_listener_ = 1;
  std::string last_error_;
  ClientMetrics metrics_;
  LifetimeToken lifetime_;  // last member: handlers check it before touching `this`
};

}  // namespace kc::datastore

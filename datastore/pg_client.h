// A non-blocking Postgres client on the agent's io_context, speaking the frontend/backend
// protocol itself (pg_protocol.h over pg_stream.h: TCP, unix socket or TLS) instead of through
// libpq, whose dependency chain (GnuTLS, Kerberos, LDAP, SASL) cost every agent with a
// datastore about 6 MiB and ruled out a static binary. One connection, jobs run one after
// another in submission order, reconnect with exponential backoff and jitter when the
// connection drops.
//
// While disconnected and waiting to retry, new jobs fail at once (PgError::unavailable())
// instead of piling up: callers such as the Registrar own their retry policy, and an agent
// whose Postgres is down must keep gossiping, not buffer minutes of stale keepalives.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
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
#include "datastore/metrics.h"
#include "datastore/pg_config.h"
#include "datastore/pg_result.h"

namespace spdlog {
class logger;
}

namespace kc::datastore {

class PgProtocol;  // pg_protocol.h
class PgStream;    // pg_stream.h
struct StepOutcome;

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
  // Throws std::invalid_argument for an invalid configuration.
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
  void open_tcp(std::vector<boost::asio::ip::tcp::endpoint> endpoints);
  std::function<void(const std::string& error)> when_open();
  void on_stream_open(const std::string& error);
  void on_connected();
  void connect_failed(const std::string& message, const std::string& sqlstate = "08001");
  void connection_lost(PgError::Kind kind, const std::string& message,
                       const std::string& sqlstate = "08006");
  void schedule_reconnect();
  void teardown();
  void notify(bool up);

  // Bytes to and from the server (pg_client_io.cpp).
  void read_more();
  void on_read(boost::system::error_code ec, std::string_view bytes);
  void on_protocol_failure();
  void flush();
  void stream_failed(const std::string& message);

  // Jobs (pg_client.cpp).
  void submit(std::unique_ptr<Job> job);
  void reject(std::unique_ptr<Job> job, PgError::Kind kind, const std::string& message,
              const std::string& sqlstate);
  void fail_all(PgError::Kind kind, const std::string& message, const std::string& sqlstate);
  void pump();
  void start_next_job();
  void send_step();
  void take_steps();
  void step_finished(StepOutcome step);
  void step_done();
  void finish_job();
  PgError make_error(PgError::Kind kind, std::string message, std::string sqlstate) const;

  boost::asio::io_context& io_;
  PgConfig config_;
  ClientOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  State state_ = State::idle;
  std::shared_ptr<PgStream> stream_;
  std::unique_ptr<PgProtocol> protocol_;
  std::string password_;  // for the attempt under way (pg_password_file is re-read each time)
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer query_timer_;
  Backoff backoff_;
  uint64_t attempt_ = 0;     // connect attempts, to ignore stale completions
  uint64_t stream_gen_ = 0;  // streams, same purpose
  bool writing_ = false;
  std::deque<std::unique_ptr<Job>> queue_;
  std::unique_ptr<Job> job_;
  uint64_t next_job_id_ = 1;
  std::map<int, std::function<void(bool)>> listeners_;
  int next_listener_ = 1;
  std::string last_error_;
  std::string last_sqlstate_ = "08001";
  ClientMetrics metrics_;
  LifetimeToken lifetime_;  // last member: handlers check it before touching `this`
};

}  // namespace kc::datastore

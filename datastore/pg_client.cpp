// PgClient: the job queue and the query state machine on a ready connection.
#include "datastore/pg_client.h"

#include <boost/asio/post.hpp>
#include <stdexcept>

#include "common/logging.h"
#include "common/noexcept_cleanup.h"
#include "datastore/pg_protocol.h"
#include "datastore/pg_stream.h"
#include "datastore/pg_wire.h"

namespace kc::datastore {

namespace {

std::string join_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (auto& e : errors) out += (out.empty() ? "" : "; ") + e;
  return out;
}

}  // namespace

PgClient::PgClient(boost::asio::io_context& io, PgConfig config, ClientOptions options)
    : io_(io),
      config_(std::move(config)),
      options_(std::move(options)),
      log_(kc::log::get("datastore")),
      resolver_(io),
      connect_timer_(io),
      reconnect_timer_(io),
      query_timer_(io),
      backoff_(options_.reconnect_initial, options_.reconnect_max) {
  if (auto errors = config_.validate(); !errors.empty())
    throw std::invalid_argument("invalid datastore configuration: " + join_errors(errors));
}

PgClient::~PgClient() {
  noexcept_cleanup([this] { close(); });
}

void PgClient::start() {
  if (state_ == State::idle) connect();
}

void PgClient::close() {
  if (state_ == State::closed) return;
  // Terminate tells the server this is a goodbye, not a crash (no "unexpected EOF" in its
  // log); only between messages, never into the middle of one being written.
  if (state_ == State::ready && stream_ && !writing_) {
    std::string bye;
    wire::terminate(bye);
    stream_->write_now(bye);
  }
  state_ = State::closed;
  connect_timer_.cancel();
  reconnect_timer_.cancel();
  query_timer_.cancel();
  resolver_.cancel();
  bool was_up = metrics_.up;
  teardown();
  metrics_.up = false;
  if (job_) queue_.push_front(std::move(job_));
  fail_all(PgError::Kind::closed, "client closed", "08003");
  if (was_up) log_->info("closed postgres connection to {}", config_.describe());
}

void PgClient::execute(Statement statement, ResultHandler handler) {
  auto job = std::make_unique<Job>();
  job->steps.push_back(std::move(statement));
  job->internal.push_back(false);
  job->handler = std::move(handler);
  submit(std::move(job));
}

void PgClient::transaction(std::vector<Statement> statements, ResultHandler handler) {
  auto job = std::make_unique<Job>();
  job->transactional = true;
  job->steps.push_back({"BEGIN", {}});
  job->internal.push_back(true);
  for (auto& s : statements) {
    job->steps.push_back(std::move(s));
    job->internal.push_back(false);
  }
  job->steps.push_back({"COMMIT", {}});
  job->internal.push_back(true);
  job->handler = std::move(handler);
  submit(std::move(job));
}

int PgClient::subscribe(std::function<void(bool up)> listener) {
  listeners_[next_listener_] = std::move(listener);
  return next_listener_++;
}

void PgClient::unsubscribe(int id) {
  listeners_.erase(id);
}

void PgClient::submit(std::unique_ptr<Job> job) {
  job->id = next_job_id_++;
  switch (state_) {
    case State::closed:
      reject(std::move(job), PgError::Kind::closed, "client closed", "08003");
      return;
    case State::backoff:
      reject(std::move(job), PgError::Kind::connect, "not connected (retrying): " + last_error_,
             last_sqlstate_);
      return;
    default:
      break;
  }
  if (queue_.size() >= options_.max_queue) {
    reject(std::move(job), PgError::Kind::overload, "too many queued statements", "54000");
    return;
  }
  queue_.push_back(std::move(job));
  if (state_ == State::idle)
    connect();
  else
    pump();
}

void PgClient::reject(std::unique_ptr<Job> job, PgError::Kind kind, const std::string& message,
                      const std::string& sqlstate) {
  ++metrics_.rejected;
  Result r;
  r.error = make_error(kind, message, sqlstate);
  boost::asio::post(io_,
                    [h = std::move(job->handler), r = std::move(r)]() mutable { h(std::move(r)); });
}

void PgClient::fail_all(PgError::Kind kind, const std::string& message,
                        const std::string& sqlstate) {
  auto queue = std::move(queue_);
  queue_.clear();
  for (auto& job : queue) reject(std::move(job), kind, message, sqlstate);
}

PgError PgClient::make_error(PgError::Kind kind, std::string message, std::string sqlstate) const {
  PgError e;
  e.kind = kind;
  e.message = std::move(message);
  e.sqlstate = std::move(sqlstate);
  e.host = config_.host;
  e.port = config_.port;
  e.database = config_.database;
  return e;
}

// Starts the next job when the connection is free, and sends what the protocol has queued.
void PgClient::pump() {
  if (state_ != State::ready) return;
  if (!job_) start_next_job();
  if (state_ != State::ready) return;
  flush();
}

void PgClient::start_next_job() {
  if (job_ || queue_.empty()) return;
  job_ = std::move(queue_.front());
  queue_.pop_front();
  job_->started = std::chrono::steady_clock::now();
  query_timer_.expires_after(options_.query_timeout);
  query_timer_.async_wait(lifetime_.wrap([this, id = job_->id](boost::system::error_code ec) {
    if (ec || !job_ || job_->id != id || state_ != State::ready) return;
    // A CancelRequest would need a second connection; dropping ours also ends the statement.
    connection_lost(
        PgError::Kind::timeout,
        "statement timed out after " + std::to_string(options_.query_timeout.count()) + " ms");
  }));
  send_step();
}

void PgClient::send_step() {
  protocol_->send(job_->steps[job_->current]);
  take_steps();  // a statement that could not be encoded has already finished
}

// Hands each finished statement to its job; the next step goes out from there.
void PgClient::take_steps() {
  while (state_ == State::ready && job_) {
    auto step = protocol_->take_step();
    if (!step) return;
    step_finished(std::move(*step));
  }
}

void PgClient::step_finished(StepOutcome step) {
  if (step.error) {
    // Keep the first error; later ones (the ROLLBACK's, say) are its fallout.
    if (!job_->result.error)
      job_->result.error =
          make_error(PgError::Kind::query, std::move(step.error->message), step.error->sqlstate);
  } else if (!job_->internal[job_->current] && !job_->result.error) {
    job_->result.statements.push_back(std::move(step.rows));
  }
  step_done();
}

void PgClient::step_done() {
  if (job_->result.error) {
    // Leave no transaction open on the shared connection: the next job would run inside it.
    bool in_tx = protocol_->transaction_status() != 'I';
    if (job_->transactional && in_tx && !job_->rolling_back) {
      job_->rolling_back = true;
      job_->steps.push_back({"ROLLBACK", {}});
      job_->internal.push_back(true);
      job_->current = job_->steps.size() - 1;
      send_step();
      return;
    }
    finish_job();
    return;
  }
  if (++job_->current < job_->steps.size()) {
    send_step();
    return;
  }
  finish_job();
}

void PgClient::finish_job() {
  auto job = std::move(job_);
  query_timer_.cancel();
  ++metrics_.queries;
  metrics_.query_seconds_sum +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - job->started).count();
  if (job->result.error) {
    ++metrics_.query_errors;
    log_->debug("statement failed: {}", job->result.error->describe());
  }
  boost::asio::post(io_, [h = std::move(job->handler), r = std::move(job->result)]() mutable {
    h(std::move(r));
  });
  start_next_job();
}

}  // namespace kc::datastore

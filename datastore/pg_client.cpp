// PgClient: the job queue and the query state machine on a ready connection.
#include "datastore/pg_client.h"

#include <boost/asio/post.hpp>
#include <stdexcept>

#include "common/logging.h"
#include "common/noexcept_cleanup.h"
#include "datastore/pg_text.h"

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
      socket_(io),
      resolver_(io),
      connect_timer_(io),
      reconnect_timer_(io),
      query_timer_(io),
      backoff_(options_.reconnect_initial, options_.reconnect_max) {
  if (auto errors = config_.validate(); !errors.empty())
    throw std::invalid_argument("invalid datastore configuration: " + join_errors(errors));
  pq_ = &libpq();  // after validation: a configuration error is reported as such first
}

PgClient::~PgClient() {
  noexcept_cleanup([this] { close(); });
}

void PgClient::start() {
  if (state_ == State::idle) connect();
}

void PgClient::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  connect_timer_.cancel();
  reconnect_timer_.cancel();
  query_timer_.cancel();
  resolver_.cancel();
  bool was_up = metrics_.up;
  teardown();
  metrics_.up = false;
  if (job_) queue_.push_front(std::move(job_));
  fail_all(PgError::Kind::closed, "client closed");
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
      reject(std::move(job), PgError::Kind::closed, "client closed");
      return;
    case State::backoff:
      reject(std::move(job), PgError::Kind::connect, "not connected (retrying): " + last_error_);
      return;
    default:
      break;
  }
  if (queue_.size() >= options_.max_queue) {
    reject(std::move(job), PgError::Kind::overload, "too many queued statements");
    return;
  }
  queue_.push_back(std::move(job));
  if (state_ == State::idle)
    connect();
  else
    pump();
}

void PgClient::reject(std::unique_ptr<Job> job, PgError::Kind kind, const std::string& message) {
  ++metrics_.rejected;
  Result r;
  r.error = make_error(kind, message,
                       kind == PgError::Kind::closed     ? "08003"
                       : kind == PgError::Kind::overload ? "54000"
                                                         : "08001");
  boost::asio::post(io_,
                    [h = std::move(job->handler), r = std::move(r)]() mutable { h(std::move(r)); });
}

void PgClient::fail_all(PgError::Kind kind, const std::string& message) {
  auto queue = std::move(queue_);
  queue_.clear();
  for (auto& job : queue) reject(std::move(job), kind, message);
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

// Advances whatever can advance now and re-arms the socket waits.
void PgClient::pump() {
  if (state_ != State::ready) return;
  if (!job_) start_next_job();
  if (state_ != State::ready) return;
  arm_read();
  arm_write();
}

void PgClient::start_next_job() {
  if (job_ || queue_.empty()) return;
  job_ = std::move(queue_.front());
  queue_.pop_front();
  job_->started = std::chrono::steady_clock::now();
  query_timer_.expires_after(options_.query_timeout);
  query_timer_.async_wait(lifetime_.wrap([this, id = job_->id](boost::system::error_code ec) {
    if (ec || !job_ || job_->id != id || state_ != State::ready) return;
    // PQcancel would block on a second connection; dropping ours also ends the statement.
    connection_lost(
        PgError::Kind::timeout,
        "statement timed out after " + std::to_string(options_.query_timeout.count()) + " ms");
  }));
  send_step();
}

void PgClient::send_step() {
  const Statement& s = job_->steps[job_->current];
  std::vector<const char*> values;
  values.reserve(s.params.size());
  for (auto& p : s.params) values.push_back(p ? p->c_str() : nullptr);
  if (!pq_->sendQueryParams(conn_, s.sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0)) {
    connection_lost(PgError::Kind::lost, one_line(pq_->errorMessage(conn_)));
    return;
  }
  flush();
}

void PgClient::flush() {
  int r = pq_->flush(conn_);
  if (r < 0) {
    connection_lost(PgError::Kind::lost, one_line(pq_->errorMessage(conn_)));
    return;
  }
  flush_pending_ = r == 1;
}

void PgClient::arm_read() {
  // A read wait stays armed even when idle: that is how a server shutdown or a dropped
  // connection is noticed at once, not at the next query.
  if (reading_ || !socket_.is_open()) return;
  reading_ = true;
  socket_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                     lifetime_.wrap([this, gen = socket_gen_](boost::system::error_code ec) {
                       if (gen != socket_gen_ || state_ != State::ready) return;
                       reading_ = false;
                       if (ec) {
                         connection_lost(PgError::Kind::lost, "socket: " + ec.message());
                         return;
                       }
                       on_readable();
                     }));
}

void PgClient::arm_write() {
  if (writing_ || !flush_pending_ || !socket_.is_open()) return;
  writing_ = true;
  socket_.async_wait(boost::asio::posix::descriptor_base::wait_write,
                     lifetime_.wrap([this, gen = socket_gen_](boost::system::error_code ec) {
                       if (gen != socket_gen_ || state_ != State::ready) return;
                       writing_ = false;
                       if (ec) {
                         connection_lost(PgError::Kind::lost, "socket: " + ec.message());
                         return;
                       }
                       flush();
                       pump();
                     }));
}

bool PgClient::ssl_pending() const {
  if (!pq_->sslPending) return false;
  const void* ssl = pq_->sslStruct(conn_, "OpenSSL");
  return ssl && pq_->sslPending(ssl) > 0;
}

void PgClient::on_readable() {
  // Asio re-arms the edge-triggered epoll registration on each wait, so bytes left in the
  // kernel are seen; bytes already decrypted inside OpenSSL are not, hence the loop.
  for (int i = 0; i < 64; ++i) {
    if (!pq_->consumeInput(conn_)) {
      connection_lost(PgError::Kind::lost, one_line(pq_->errorMessage(conn_)));
      return;
    }
    if (!job_ || !pq_->isBusy(conn_) || !ssl_pending()) break;
  }
  if (pq_->status(conn_) == CONNECTION_BAD) {
    connection_lost(PgError::Kind::lost, one_line(pq_->errorMessage(conn_)));
    return;
  }
  if (flush_pending_) flush();
  process_results();
  pump();
}

void PgClient::process_results() {
  while (state_ == State::ready && job_ && !pq_->isBusy(conn_)) {
    PGresult* r = pq_->getResult(conn_);
    if (!r) {
      step_done();
      continue;
    }
    take_result(r);
    pq_->clear(r);
  }
}

void PgClient::take_result(PGresult* r) {
  auto status = pq_->resultStatus(r);
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
    if (job_->internal[job_->current] || job_->result.error) return;
    Rows rows;
    int ncols = pq_->nfields(r);
    int nrows = pq_->ntuples(r);
    for (int c = 0; c < ncols; ++c) rows.columns.emplace_back(pq_->fname(r, c));
    rows.rows.reserve(static_cast<size_t>(nrows));
    for (int i = 0; i < nrows; ++i) {
      auto& row = rows.rows.emplace_back();
      for (int c = 0; c < ncols; ++c)
        row.push_back(pq_->getisnull(r, i, c) ? std::nullopt
                                              : std::optional<std::string>(pq_->getvalue(r, i, c)));
    }
    const char* tuples = pq_->cmdTuples(r);
    rows.affected = tuples && *tuples ? std::stoull(tuples) : 0;
    job_->result.statements.push_back(std::move(rows));
    return;
  }
  if (job_->result.error) return;  // keep the first error; later results are its fallout
  const char* state = pq_->resultErrorField(r, PG_DIAG_SQLSTATE);
  const char* primary = pq_->resultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = pq_->resultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
  std::string message = primary ? one_line(primary) : one_line(pq_->resStatus(status));
  if (detail) message += " (" + one_line(detail) + ")";
  job_->result.error = make_error(PgError::Kind::query, message, state ? state : "");
}

void PgClient::step_done() {
  if (job_->result.error) {
    // Leave no transaction open on the shared connection: the next job would run inside it.
    bool in_tx = pq_->transactionStatus(conn_) != PQTRANS_IDLE;
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

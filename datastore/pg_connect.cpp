// PgClient: connecting, losing the connection, reconnecting.
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <sstream>

#include "common/logging.h"
#include "datastore/pg_client.h"
#include "datastore/pg_text.h"

namespace kc::datastore {

namespace {

// Kong's pg_password_file holds the password alone (a mounted Kubernetes secret); it is
// re-read on every connect so a rotated secret takes effect without a restart.
std::optional<std::string> read_password_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pw = ss.str();
  while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
  return pw;
}

}  // namespace

void PgClient::connect() {
  if (state_ == State::closed) return;
  state_ = State::connecting;
  ++attempt_;
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait(
      lifetime_.wrap([this, attempt = attempt_](boost::system::error_code ec) {
        if (ec || attempt != attempt_ || state_ != State::connecting) return;
        resolver_.cancel();
        connect_failed("connect timed out after " +
                       std::to_string(options_.connect_timeout.count()) + " ms");
      }));

  // A unix socket directory or an IP literal needs no lookup. A DNS name is resolved here
  // with Asio, because libpq would resolve it with a blocking getaddrinfo() inside
  // PQconnectStart and stall the event loop.
  boost::system::error_code ec;
  boost::asio::ip::make_address(config_.host, ec);
  if (config_.host.front() == '/') {
    start_connect("");
    return;
  }
  if (!ec) {
    start_connect(config_.host);  // as hostaddr: libpq then skips getaddrinfo altogether
    return;
  }
  resolver_.async_resolve(
      config_.host, std::to_string(config_.port),
      lifetime_.wrap(
          [this, attempt = attempt_](boost::system::error_code ec,
                                     const boost::asio::ip::tcp::resolver::results_type& results) {
            if (attempt != attempt_ || state_ != State::connecting) return;
            if (ec || results.empty()) {
              connect_failed("cannot resolve " + config_.host + ": " + ec.message());
              return;
            }
            // Hand libpq every address: it tries them in turn within this one attempt
            // (an IPv6 ::1 first, say, then 127.0.0.1), swapping sockets as it goes.
            std::vector<std::string> seen;
            std::string addrs;
            for (auto& entry : results) {
              auto ip = entry.endpoint().address().to_string();
              if (std::find(seen.begin(), seen.end(), ip) != seen.end()) continue;
              seen.push_back(ip);
              addrs += (addrs.empty() ? "" : ",") + ip;
            }
            start_connect(addrs);
          }));
}

void PgClient::start_connect(const std::string& hostaddr) {
  std::string password = config_.password;
  if (!config_.password_file.empty()) {
    auto pw = read_password_file(config_.password_file);
    if (!pw) {
      connect_failed("pg_password_file: cannot read " + config_.password_file);
      return;
    }
    password = *pw;
  }
  std::string port = std::to_string(config_.port);
  const char* sslmode = !config_.ssl ? "disable" : config_.ssl_verify ? "verify-full" : "require";
  // With several addresses libpq wants as many host names (for TLS verification).
  std::string hosts = config_.host;
  for (char c : hostaddr)
    if (c == ',') hosts += "," + config_.host;
  std::vector<std::pair<const char*, std::string>> params = {
      {"host", hosts},
      {"port", port},
      {"user", config_.user},
      {"dbname", config_.database},
      {"sslmode", sslmode},
      // GSSAPI negotiation could block on a Kerberos library call; Kong never used it.
      {"gssencmode", "disable"},
      {"application_name", options_.application_name},
      {"client_encoding", "UTF8"},
      // Detect a silently dead server (a partition, a killed VM) within about a minute.
      {"keepalives", "1"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
  };
  if (!hostaddr.empty()) params.emplace_back("hostaddr", hostaddr);
  if (!password.empty()) params.emplace_back("password", password);
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (auto& [k, v] : params) {
    keys.push_back(k);
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  conn_ = pq_->connectStartParams(keys.data(), values.data(), 0);
  if (!conn_) {
    connect_failed("libpq could not allocate a connection");
    return;
  }
  if (pq_->status(conn_) == CONNECTION_BAD) {
    connect_failed(one_line(pq_->errorMessage(conn_)));
    return;
  }
  // Without a processor libpq prints NOTICEs ("relation exists, skipping") to stderr.
  pq_->setNoticeProcessor(conn_, &PgClient::on_notice, this);
  // libpq's rule: before the first PQconnectPoll, behave as if it returned WRITING.
  poll_status_ = PGRES_POLLING_WRITING;
  wait_connect();
}

void PgClient::wait_connect() {
  // libpq may switch sockets between steps (next address, retry without SSL), possibly
  // reusing the same fd number; rebinding every step keeps Asio's registration current.
  rebind_socket();
  if (pq_->socket(conn_) < 0) {
    connect_failed(one_line(pq_->errorMessage(conn_)));
    return;
  }
  auto what = poll_status_ == PGRES_POLLING_READING
                  ? boost::asio::posix::descriptor_base::wait_read
                  : boost::asio::posix::descriptor_base::wait_write;
  socket_.async_wait(what, lifetime_.wrap([this, attempt = attempt_,
                                           gen = socket_gen_](boost::system::error_code ec) {
    if (gen != socket_gen_ || attempt != attempt_ || state_ != State::connecting) return;
    if (ec) {
      connect_failed("waiting for the socket: " + ec.message());
      return;
    }
    continue_connect(attempt);
  }));
}

void PgClient::continue_connect(uint64_t attempt) {
  poll_status_ = pq_->connectPoll(conn_);
  switch (poll_status_) {
    case PGRES_POLLING_OK:
      on_connected();
      return;
    case PGRES_POLLING_FAILED:
      connect_failed(one_line(pq_->errorMessage(conn_)));
      return;
    default:
      wait_connect();
  }
}

void PgClient::on_connected() {
  ++attempt_;  // retires the connect timer's pending completion
  connect_timer_.cancel();
  if (pq_->setnonblocking(conn_, 1) != 0) {
    connect_failed("cannot make the connection non-blocking: " +
                   one_line(pq_->errorMessage(conn_)));
    return;
  }
  state_ = State::ready;
  backoff_.reset();
  rebind_socket();
  metrics_.up = true;
  ++metrics_.connects;
  last_error_.clear();
  log_->info("connected to postgres {} (server {})", config_.describe(), pq_->serverVersion(conn_));
  notify(true);
  pump();
}

void PgClient::connect_failed(const std::string& message) {
  teardown();
  ++metrics_.connect_failures;
  if (message != last_error_)
    log_->warn("cannot connect to postgres {}: {}", config_.describe(), message);
  else
    log_->debug("cannot connect to postgres {}: {}", config_.describe(), message);
  last_error_ = message;
  fail_all(PgError::Kind::connect, message);
  schedule_reconnect();
}

void PgClient::connection_lost(PgError::Kind kind, const std::string& message) {
  teardown();
  ++metrics_.disconnects;
  metrics_.up = false;
  last_error_ = message;
  log_->warn("postgres connection to {} lost: {}", config_.describe(), message);
  if (job_) {
    auto job = std::move(job_);
    query_timer_.cancel();
    job->result.error =
        make_error(kind, message, kind == PgError::Kind::timeout ? "57014" : "08006");
    job->result.statements.clear();
    ++metrics_.queries;
    ++metrics_.query_errors;
    boost::asio::post(io_, [h = std::move(job->handler), r = std::move(job->result)]() mutable {
      h(std::move(r));
    });
  }
  fail_all(PgError::Kind::connect, "connection lost: " + message);
  notify(false);
  schedule_reconnect();
}

void PgClient::schedule_reconnect() {
  if (state_ == State::closed) return;
  state_ = State::backoff;
  auto delay = backoff_.next();
  log_->debug("reconnecting to postgres {} in {} ms", config_.describe(), delay.count());
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (ec || state_ != State::backoff) return;
    connect();
  }));
}

void PgClient::teardown() {
  // release(), never close(): libpq owns the fd and PQfinish closes it exactly once.
  ++socket_gen_;
  reading_ = writing_ = flush_pending_ = false;
  if (socket_.is_open()) socket_.release();
  if (conn_) {
    pq_->finish(conn_);
    conn_ = nullptr;
  }
  if (state_ == State::ready) {
    metrics_.up = false;
  }
}

void PgClient::rebind_socket() {
  ++socket_gen_;
  reading_ = writing_ = false;
  if (socket_.is_open()) socket_.release();
  int fd = conn_ ? pq_->socket(conn_) : -1;
  if (fd < 0) return;
  boost::system::error_code ec;
  socket_.assign(fd, ec);
  if (ec) log_->error("cannot watch the postgres socket: {}", ec.message());
}

void PgClient::notify(bool up) {
  boost::asio::post(io_, lifetime_.wrap([this, up] {
    auto listeners = listeners_;  // a listener may unsubscribe while we iterate
    for (auto& [id, listener] : listeners) listener(up);
  }));
}

void PgClient::on_notice(void* self, const char* message) {
  static_cast<PgClient*>(self)->log_->debug("postgres notice: {}", one_line(message));
}

}  // namespace kc::datastore

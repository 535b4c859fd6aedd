// PgClient: connecting, losing the connection, reconnecting.
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <sstream>

#include "common/logging.h"
#include "datastore/pg_client.h"
#include "datastore/pg_protocol.h"
#include "datastore/pg_stream.h"

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

  password_ = config_.password;
  if (!config_.password_file.empty()) {
    auto pw = read_password_file(config_.password_file);
    if (!pw) {
      connect_failed("pg_password_file: cannot read " + config_.password_file);
      return;
    }
    password_ = *pw;
  }

  stream_ = std::make_shared<PgStream>(io_);
  ++stream_gen_;
  // A unix socket directory holds the server's socket under Postgres's fixed name; Postgres
  // speaks no TLS there, so pg_ssl does not apply (as with libpq).
  if (config_.host.front() == '/') {
    stream_->open_unix(config_.host + "/.s.PGSQL." + std::to_string(config_.port), when_open());
    return;
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(config_.host, ec);
  if (!ec) {
    open_tcp({{address, static_cast<unsigned short>(config_.port)}});
    return;
  }
  // A DNS name is resolved with Asio: getaddrinfo() would block the event loop.
  resolver_.async_resolve(
      config_.host, std::to_string(config_.port),
      lifetime_.wrap([this, attempt = attempt_](
                         boost::system::error_code ec,
                         const boost::asio::ip::tcp::resolver::results_type& results) {
        if (attempt != attempt_ || state_ != State::connecting) return;
        if (ec || results.empty()) {
          connect_failed("cannot resolve " + config_.host + ": " + ec.message());
          return;
        }
        // Every address in turn within this one attempt (an IPv6 ::1 first, say, then
        // 127.0.0.1), each once.
        std::vector<boost::asio::ip::tcp::endpoint> endpoints;
        for (auto& entry : results)
          if (std::find(endpoints.begin(), endpoints.end(), entry.endpoint()) == endpoints.end())
            endpoints.push_back(entry.endpoint());
        open_tcp(std::move(endpoints));
      }));
}

void PgClient::open_tcp(std::vector<boost::asio::ip::tcp::endpoint> endpoints) {
  TlsOptions tls;
  tls.enabled = config_.ssl;
  tls.verify = config_.ssl_verify;
  tls.host = config_.host;
  stream_->open_tcp(std::move(endpoints), std::move(tls), when_open());
}

std::function<void(const std::string&)> PgClient::when_open() {
  return lifetime_.wrap([this, gen = stream_gen_](const std::string& error) {
    if (gen != stream_gen_ || state_ != State::connecting) return;
    on_stream_open(error);
  });
}

void PgClient::on_stream_open(const std::string& error) {
  if (!error.empty()) {
    connect_failed(error);
    return;
  }
  protocol_ = std::make_unique<PgProtocol>();
  protocol_->on_notice = [log = log_](const std::string& message) {
    log->debug("postgres notice: {}", message);
  };
  protocol_->start({config_.user, config_.database, options_.application_name, password_});
  if (protocol_->failure()) {
    on_protocol_failure();
    return;
  }
  flush();
  read_more();
}

void PgClient::on_connected() {
  ++attempt_;  // retires the connect timer's pending completion
  connect_timer_.cancel();
  state_ = State::ready;
  backoff_.reset();
  metrics_.up = true;
  ++metrics_.connects;
  last_error_.clear();
  log_->info("connected to postgres {} (server {}{})", config_.describe(),
             protocol_->server_version(), stream_->encrypted() ? ", TLS" : "");
  notify(true);
  pump();
}

void PgClient::connect_failed(const std::string& message, const std::string& sqlstate) {
  teardown();
  ++metrics_.connect_failures;
  if (message != last_error_)
    log_->warn("cannot connect to postgres {}: {}", config_.describe(), message);
  else
    log_->debug("cannot connect to postgres {}: {}", config_.describe(), message);
  last_error_ = message;
  last_sqlstate_ = sqlstate;
  fail_all(PgError::Kind::connect, message, sqlstate);
  schedule_reconnect();
}

void PgClient::connection_lost(PgError::Kind kind, const std::string& message,
                               const std::string& sqlstate) {
  teardown();
  ++metrics_.disconnects;
  metrics_.up = false;
  last_error_ = message;
  log_->warn("postgres connection to {} lost: {}", config_.describe(), message);
  if (job_) {
    auto job = std::move(job_);
    query_timer_.cancel();
    job->result.error =
        make_error(kind, message, kind == PgError::Kind::timeout ? "57014" : sqlstate);
    job->result.statements.clear();
    ++metrics_.queries;
    ++metrics_.query_errors;
    boost::asio::post(io_, [h = std::move(job->handler), r = std::move(job->result)]() mutable {
      h(std::move(r));
    });
  }
  last_sqlstate_ = "08006";
  fail_all(PgError::Kind::connect, "connection lost: " + message, "08006");
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
  ++stream_gen_;  // completions of the old stream's operations are ignored from here on
  if (stream_) {
    stream_->close();
    stream_.reset();
  }
  protocol_.reset();
  writing_ = false;
  if (state_ == State::ready) {
    metrics_.up = false;
  }
}

void PgClient::notify(bool up) {
  boost::asio::post(io_, lifetime_.wrap([this, up] {
    auto listeners = listeners_;  // a listener may unsubscribe while we iterate
    for (auto& [id, listener] : listeners) listener(up);
  }));
}

}  // namespace kc::datastore

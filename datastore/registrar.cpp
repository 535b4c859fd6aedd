// Registrar: options, the start sequence, stop.
#include "datastore/registrar.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "common/logging.h"
#include "datastore/schema.h"

namespace kc::datastore {

namespace {

// "ip:port" or "[ipv6]:port" with a specific (not wildcard) address and a real port.
bool valid_advertise(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(host, ec);
  if (ec || ip.is_unspecified()) return false;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int p = std::stoi(port);
  return p > 0 && p < 65536;
}

}  // namespace

std::vector<std::string> RegistrarOptions::validate() const {
  std::vector<std::string> errors;
  if (name.empty()) errors.emplace_back("cluster_node_name: must not be empty");
  if (!valid_advertise(address))
    errors.push_back("cluster_advertise: '" + address + "' is not a reachable ip:port");
  if (ttl_on_failure < std::chrono::seconds(60))
    errors.emplace_back("cluster_ttl_on_failure: must be at least 60 seconds");
  for (auto [key, value] : {std::pair{"keepalive_interval", keepalive_interval},
                            {"autojoin_interval", autojoin_interval},
                            {"purge_interval", purge_interval},
                            {"join_timeout", join_timeout},
                            {"stop_timeout", stop_timeout},
                            {"retry_initial", retry_initial}})
    if (value.count() <= 0) errors.push_back(std::string(key) + ": must be positive");
  return errors;
}

Registrar::Registrar(boost::asio::io_context& io, PgClient& client, RegistrarOptions options,
                     JoinFn join, MemberCountFn alive_member_count)
    : io_(io),
      client_(client),
      table_(client),
      options_(std::move(options)),
      join_(std::move(join)),
      alive_member_count_(std::move(alive_member_count)),
      log_(kc::log::get("datastore")),
      retry_timer_(io),
      keepalive_timer_(io),
      autojoin_timer_(io),
      purge_timer_(io),
      join_timer_(io),
      stop_timer_(io),
      retry_backoff_(options_.retry_initial, options_.retry_max) {
  auto errors = options_.validate();
  if (!join_ || !alive_member_count_)
    errors.emplace_back("registrar: join and member count callbacks are required");
  if (!errors.empty()) {
    std::string all;
    for (auto& e : errors) all += (all.empty() ? "" : "; ") + e;
    throw std::invalid_argument(all);
  }
}

Registrar::~Registrar() {
  if (subscription_) client_.unsubscribe(subscription_);
}

void Registrar::start() {
  if (started_) return;
  started_ = true;
  subscription_ = client_.subscribe(lifetime_.wrap([this](bool up) { on_connection(up); }));
  arm(purge_timer_, options_.purge_interval, &Registrar::purge_tick);
  arm(keepalive_timer_, options_.keepalive_interval, &Registrar::keepalive_tick);
  client_.start();
  run_start_sequence();
}

void Registrar::on_connection(bool up) {
  if (!up || stopping_) return;
  if (!registered_) {
    // Postgres is back: do not sit out the rest of the backoff delay.
    if (retry_pending_) {
      retry_timer_.cancel();
      run_start_sequence();
    }
    return;
  }
  keepalive_now();  // the TTL may have run low during the outage
}

void Registrar::run_start_sequence() {
  if (sequence_running_ || stopping_ || registered_) return;
  sequence_running_ = true;
  retry_pending_ = false;
  if (schema_ready_) {
    delete_stale_row();
    return;
  }
  migrate(client_,
          lifetime_.wrap([this](const std::optional<PgError>& error, MigrationReport report) {
            if (stopping_) return;
            if (error) return sequence_failed("schema migration", *error);
            schema_ready_ = true;
            if (report.created_nodes || report.created_ttls)
              log_->info("created Kong's nodes/ttls tables in {}", client_.config().describe());
            delete_stale_row();
          }));
}

void Registrar::delete_stale_row() {
  // A row under our name is a leftover of a crash; joining our own old address is useless.
  table_.delete_node(options_.name,
                     lifetime_.wrap([this](const std::optional<PgError>& error, bool deleted) {
                       if (stopping_) return;
                       if (error) return sequence_failed("deleting our stale row", *error);
                       if (deleted) log_->info("removed a stale nodes row for {}", options_.name);
                       join_live_rows();
                     }));
}

void Registrar::join_live_rows() {
  table_.live_nodes(
      lifetime_.wrap([this](const std::optional<PgError>& error, const std::vector<NodeRow>& rows) {
        if (stopping_) return;
        if (error) return sequence_failed("reading nodes", *error);
        metrics_.live_rows = rows.size();
        auto addresses = candidates(rows);
        if (addresses.empty()) {
          log_->info("no other nodes found in the cluster");
          insert_own_row();
          return;
        }
        join(std::move(addresses), [this] { insert_own_row(); });
      }));
}

void Registrar::insert_own_row() {
  if (stopping_) return;
  table_.insert_self(
      options_.name, options_.address, options_.ttl_on_failure,
      lifetime_.wrap([this](const std::optional<PgError>& error, const InsertOutcome& outcome) {
        if (stopping_) return;
        if (error) return sequence_failed("inserting our row", *error);
        on_registered(outcome);
      }));
}

void Registrar::on_registered(const InsertOutcome& outcome) {
  sequence_running_ = false;
  registered_ = true;
  retry_backoff_.reset();
  ++metrics_.registrations;
  for (auto& ghost : outcome.displaced)
    log_->warn("removed row {} that claimed our address {}", ghost, options_.address);
  log_->info("registered {} at {} in nodes (ttl {} s)", options_.name, options_.address,
             options_.ttl_on_failure.count());
  if (!autojoin_armed_) {
    autojoin_armed_ = true;
    autojoin_deadline_ = std::chrono::steady_clock::now() + options_.autojoin_window;
    arm(autojoin_timer_, options_.autojoin_interval, &Registrar::autojoin_tick);
  }
  flush_pending_deletes();
}

void Registrar::sequence_failed(const char* step, const PgError& error) {
  sequence_running_ = false;
  ++metrics_.registration_failures;
  // A database re-created empty under us (undefined_table) needs the schema again.
  if (error.sqlstate == "42P01") schema_ready_ = false;
  log_->warn("registration failed while {}: {}", step, error.describe());
  schedule_retry();
}

void Registrar::schedule_retry() {
  if (stopping_) return;
  retry_pending_ = true;
  auto delay = retry_backoff_.next();
  log_->debug("retrying registration in {} ms", delay.count());
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (ec || !retry_pending_) return;
    run_start_sequence();
  }));
}

void Registrar::join(std::vector<std::string> addresses, std::function<void()> next) {
  join_in_flight_ = true;
  ++metrics_.autojoin_attempts;
  auto finished = std::make_shared<bool>(false);
  size_t total = addresses.size();
  // Exactly once: on the callback or on the guard timer, whichever comes first.
  auto finish = lifetime_.wrap([this, finished, total, next = std::move(next)](int joined) {
    if (*finished) return;
    *finished = true;
    join_in_flight_ = false;
    join_timer_.cancel();
    if (joined < 0)
      log_->warn("join of {} addresses from nodes did not answer within {} ms", total,
                 options_.join_timeout.count());
    else if (joined == 0)
      log_->warn("could not join the existing cluster ({} addresses tried)", total);
    else
      log_->info("successfully joined cluster ({} of {} addresses)", joined, total);
    next();
  });
  join_timer_.expires_after(options_.join_timeout);
  join_timer_.async_wait([finish](boost::system::error_code ec) mutable {
    if (!ec) finish(-1);
  });
  join_(std::move(addresses), [&io = io_, finish](int joined) mutable {
    // The agent may answer from inside join_() or from another thread: always hop onto
    // the loop; `finish` itself checks that we still exist when it runs there.
    boost::asio::post(io, [finish, joined]() mutable { finish(joined); });
  });
}

std::vector<std::string> Registrar::candidates(const std::vector<NodeRow>& rows) const {
  std::vector<std::string> out;
  for (auto& row : rows) {
    if (row.name == options_.name || row.address == options_.address || row.address.empty())
      continue;
    if (std::find(out.begin(), out.end(), row.address) == out.end()) out.push_back(row.address);
  }
  return out;
}

void Registrar::stop(std::function<void()> done) {
  auto finished = std::make_shared<bool>(false);
  auto finish = [this, finished, done = std::move(done)]() {
    if (*finished) return;
    *finished = true;
    stop_timer_.cancel();
    boost::asio::post(io_, done);
  };
  if (stopping_) {
    finish();
    return;
  }
  stopping_ = true;
  registered_ = false;
  for (auto* t : {&retry_timer_, &keepalive_timer_, &autojoin_timer_, &purge_timer_, &join_timer_})
    t->cancel();
  if (subscription_) client_.unsubscribe(subscription_);
  subscription_ = 0;
  stop_timer_.expires_after(options_.stop_timeout);
  stop_timer_.async_wait(lifetime_.wrap([this, finish](boost::system::error_code ec) mutable {
    if (ec) return;
    log_->warn("leaving without deleting our nodes row: postgres did not answer within {} ms",
               options_.stop_timeout.count());
    finish();
  }));
  table_.delete_node(
      options_.name,
      lifetime_.wrap([this, finish](const std::optional<PgError>& error, bool deleted) mutable {
        if (error)
          log_->warn("could not delete our nodes row ({}); it expires within {} s",
                     error->describe(), options_.ttl_on_failure.count());
        else
          log_->info("deleted our nodes row (graceful leave){}",
                     deleted ? "" : ": it was already gone");
        finish();
      }));
}

}  // namespace kc::datastore

// Registrar: keepalive, auto-join, purge and member-leave clean-up.
#include <boost/asio/post.hpp>

#include "common/logging.h"
#include "datastore/registrar.h"

namespace kc::datastore {

namespace {
constexpr size_t kMaxPendingDeletes = 1024;  // bounded: rows also expire by TTL anyway
}

void Registrar::arm(boost::asio::steady_timer& timer, std::chrono::milliseconds after,
                    void (Registrar::*tick)()) {
  if (stopping_) return;
  timer.expires_after(after);
  timer.async_wait(lifetime_.wrap([this, tick](boost::system::error_code ec) {
    if (ec || stopping_) return;
    (this->*tick)();
  }));
}

void Registrar::keepalive_tick() {
  arm(keepalive_timer_, options_.keepalive_interval, &Registrar::keepalive_tick);
  keepalive_now();
}

void Registrar::keepalive_now() {
  if (!registered_ || keepalive_running_ || stopping_) return;
  keepalive_running_ = true;
  flush_pending_deletes();
  table_.refresh_ttl(
      options_.name, options_.ttl_on_failure,
      lifetime_.wrap([this](const std::optional<PgError>& error, bool found) {
        if (stopping_) return;
        if (error) {
          keepalive_running_ = false;
          ++metrics_.keepalive_failures;
          log_->warn("keepalive failed: {}", error->describe());
          if (error->sqlstate == "42P01") {  // the tables are gone: start over
            registered_ = false;
            schema_ready_ = false;
            run_start_sequence();
          }
          return;
        }
        if (found) {
          keepalive_running_ = false;
          ++metrics_.keepalives;
          return;
        }
        // Kong never re-inserted here and stayed unregistered until restart.
        log_->warn("our nodes row was deleted; inserting it again");
        table_.insert_self(
            options_.name, options_.address, options_.ttl_on_failure,
            lifetime_.wrap([this](const std::optional<PgError>& error, const InsertOutcome&) {
              keepalive_running_ = false;
              if (stopping_) return;
              if (error) {
                ++metrics_.keepalive_failures;
                log_->warn("re-inserting our nodes row failed: {}", error->describe());
                return;
              }
              ++metrics_.keepalives;
              ++metrics_.reinserts;
              ++metrics_.registrations;
            }));
      }));
}

void Registrar::autojoin_tick() {
  if (stopping_ || std::chrono::steady_clock::now() >= autojoin_deadline_) {
    log_->debug("auto-join window closed");
    return;
  }
  arm(autojoin_timer_, options_.autojoin_interval, &Registrar::autojoin_tick);
  if (join_in_flight_ || alive_member_count_() > 1) return;
  table_.live_nodes(
      lifetime_.wrap([this](const std::optional<PgError>& error, const std::vector<NodeRow>& rows) {
        if (stopping_ || error) return;
        metrics_.live_rows = rows.size();
        auto addresses = candidates(rows);
        // Re-check: a join may have started or succeeded while the rows were read.
        if (addresses.empty() || join_in_flight_ || alive_member_count_() > 1) return;
        log_->info("alone in the cluster: joining {} addresses from nodes", addresses.size());
        join(std::move(addresses), [] {});
      }));
}

void Registrar::purge_tick() {
  arm(purge_timer_, options_.purge_interval, &Registrar::purge_tick);
  if (!schema_ready_) return;
  auto orphan_ttl = options_.adopt_orphans ? options_.ttl_on_failure : std::chrono::seconds(0);
  table_.purge_expired(
      orphan_ttl, lifetime_.wrap([this](const std::optional<PgError>& error, PurgeOutcome out) {
        if (stopping_) return;
        if (error) {
          log_->debug("purging expired rows failed: {}", error->describe());
          return;
        }
        metrics_.purged_rows += out.purged.size();
        metrics_.adopted_rows += out.adopted;
        if (!out.purged.empty()) {
          std::string names;
          for (auto& name : out.purged) names += (names.empty() ? "" : ", ") + name;
          log_->info("purged {} expired nodes rows: {}", out.purged.size(), names);
        }
        if (out.adopted)
          log_->info("gave {} nodes rows without a TTL one of {} s", out.adopted,
                     options_.ttl_on_failure.count());
        table_.live_nodes(lifetime_.wrap(
            [this](const std::optional<PgError>& error, const std::vector<NodeRow>& rows) {
              if (!error) metrics_.live_rows = rows.size();
            }));
      }));
}

void Registrar::on_member_left(const std::string& name) {
  if (stopping_ || name == options_.name) return;
  pending_deletes_.erase(name);
  delete_member_row(name);
}

void Registrar::on_member_joined(const std::string& name) {
  pending_deletes_.erase(name);
}

void Registrar::flush_pending_deletes() {
  auto pending = std::move(pending_deletes_);
  pending_deletes_.clear();
  for (auto& name : pending) delete_member_row(name);
}

void Registrar::delete_member_row(const std::string& name) {
  table_.delete_node(
      name, lifetime_.wrap([this, name](const std::optional<PgError>& error, bool deleted) {
        if (error) {
          ++metrics_.member_delete_failures;
          log_->warn("could not delete the nodes row of departed member {}: {}", name,
                     error->describe());
          if (error->unavailable() && !stopping_ && pending_deletes_.size() < kMaxPendingDeletes)
            pending_deletes_.insert(name);
          return;
        }
        if (deleted) {
          ++metrics_.member_deletes;
          log_->info("deleted the nodes row of departed member {}", name);
        }
      }));
}

}  // namespace kc::datastore

#include "operator/controller/nodes_reconciler.h"

#include "common/logging.h"

namespace kc::controller {

namespace {
// A row with no member is deleted only once it is older than this: an agent registers its row
// right after joining, and a membership poll may predate the join.
constexpr auto kGhostRowAge = std::chrono::seconds(60);
}  // namespace

NodesReconciler::NodesReconciler(boost::asio::io_context& io, NodesStore& table, Metrics& metrics,
                                 std::function<bool(const std::string&)> in_use,
                                 WorkQueueOptions retry)
    : table_(table),
      metrics_(metrics),
      in_use_(std::move(in_use)),
      log_(kc::log::get("controller")),
      queue_(io, retry, [this](const std::string& name, WorkQueue::Finish finish) {
        reconcile(name, std::move(finish));
      }) {}

void NodesReconciler::resync(std::function<void(bool ok)> done) {
  table_.live_nodes(
      lifetime_.wrap([this, done = std::move(done)](const std::optional<datastore::PgError>& err,
                                                    std::vector<datastore::NodeRow> rows) {
        if (err) return done(false);
        metrics_.set_rows(rows.size());
        listed_.clear();
        for (auto& row : rows) listed_[row.name] = std::move(row);
        for (const auto& [name, row] : listed_)
          if (ghost(name)) queue_.add(name);
        done(true);
      }));
}

bool NodesReconciler::ghost(const std::string& name) const {
  auto it = listed_.find(name);
  if (it == listed_.end() || in_use_(name)) return false;
  return std::chrono::system_clock::now() - it->second.created_at >= kGhostRowAge;
}

void NodesReconciler::reconcile(const std::string& name, WorkQueue::Finish finish) {
  // Judged again now: the membership may have changed since the listing.
  if (!ghost(name)) return finish(ReconcileResult::Done);
  log_->info("deleting ghost row {} ({}): no such member", name, listed_.at(name).address);
  table_.delete_node(name, lifetime_.wrap([this, name, finish = std::move(finish)](
                                              const std::optional<datastore::PgError>& err, bool) {
    if (err) {
      log_->debug("deleting ghost row {}: {}", name, err->message);
      return finish(ReconcileResult::Retry);
    }
    listed_.erase(name);
    finish(ReconcileResult::Done);
  }));
}

}  // namespace kc::controller

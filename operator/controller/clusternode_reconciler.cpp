#include "operator/controller/clusternode_reconciler.h"

namespace kc::controller {

ClusterNodeReconciler::ClusterNodeReconciler(boost::asio::io_context& io, ClusterNodeMirror& mirror,
                                             const ObjectCache& cnodes,
                                             const Membership& membership,
                                             std::function<bool(const std::string&)> pruning,
                                             WorkQueueOptions retry)
    : mirror_(mirror),
      cnodes_(cnodes),
      membership_(membership),
      pruning_(std::move(pruning)),
      queue_(io, retry, [this](const std::string& member, WorkQueue::Finish finish) {
        reconcile(member, std::move(finish));
      }) {}

void ClusterNodeReconciler::sync() {
  for (const auto& [name, m] : membership_.members()) queue_.add(name);
}

void ClusterNodeReconciler::resync() {
  sync();
  for (const auto& [key, obj] : cnodes_.items()) {
    std::string member = obj.value("spec", nlohmann::json::object()).value("memberName", "");
    if (!member.empty()) queue_.add(member);
  }
}

void ClusterNodeReconciler::reconcile(const std::string& member, WorkQueue::Finish finish) {
  auto done = [finish = std::move(finish)](bool ok) {
    finish(ok ? ReconcileResult::Done : ReconcileResult::Retry);
  };
  if (pruning_(member)) return done(true);
  if (const Member* m = membership_.find(member)) return mirror_.upsert(*m, done);
  // Not a member: deleted only against a membership read since we lead, never an empty one.
  if (!membership_.fresh()) return done(true);
  mirror_.remove(member, done);
}

}  // namespace kc::controller

// The ClusterNode controller: reconciles one member's ClusterNode at a time, keyed by member
// name through a WorkQueue (so a burst of polls is one write per member, a failed write is
// retried after a per-member backoff). A member in the membership gets its ClusterNode created
// or its status patched; a member gone from it (and not being pruned, whose job deletes it)
// has its ClusterNodes deleted.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>

#include "operator/controller/clusternode_mirror.h"
#include "operator/controller/membership.h"
#include "operator/controller/work_queue.h"

namespace kc::controller {

class ClusterNodeReconciler {
 public:
  // `pruning(name)`: whether a prune job owns that member (and its ClusterNode) now.
  ClusterNodeReconciler(boost::asio::io_context& io, ClusterNodeMirror& mirror,
                        const ObjectCache& cnodes, const Membership& membership,
                        std::function<bool(const std::string&)> pruning, WorkQueueOptions retry);

  // Queues every member of the membership.
  void sync();
  // Queues every member and every cached ClusterNode's member (those gone from gossip).
  void resync();
  // `member` was pruned (its ClusterNode deleted): a retry still pending for it is dropped.
  void forget(const std::string& member) { queue_.forget(member); }
  const WorkQueue& queue() const { return queue_; }

 private:
  void reconcile(const std::string& member, WorkQueue::Finish finish);

  ClusterNodeMirror& mirror_;
  const ObjectCache& cnodes_;
  const Membership& membership_;
  std::function<bool(const std::string&)> pruning_;
  WorkQueue queue_;
};

}  // namespace kc::controller

// The `nodes` table's controller: every resync lists the live rows, and each row that belongs
// to no member (a ghost an earlier crash or Kong left behind) is queued by name and deleted
// through a WorkQueue, retried after a backoff while Postgres fails. A row younger than a
// minute is left alone: an agent registers its row right after joining, and the membership
// read may predate the join.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/lifetime.h"
#include "operator/controller/metrics.h"
#include "operator/controller/nodes_store.h"
#include "operator/controller/work_queue.h"

namespace spdlog {
class logger;
}

namespace kc::controller {

class NodesReconciler {
 public:
  // `in_use(name)`: whether a row of that name must stay (a member, another cluster's member,
  // or one whose prune deletes the row itself).
  NodesReconciler(boost::asio::io_context& io, NodesStore& table, Metrics& metrics,
                  std::function<bool(const std::string&)> in_use, WorkQueueOptions retry);

  // Lists the rows and queues the ghosts; `done(ok)` once listed (false: Postgres failed).
  void resync(std::function<void(bool ok)> done);
  const WorkQueue& queue() const { return queue_; }

 private:
  void reconcile(const std::string& name, WorkQueue::Finish finish);
  bool ghost(const std::string& name) const;

  NodesStore& table_;
  Metrics& metrics_;
  std::function<bool(const std::string&)> in_use_;
  std::shared_ptr<spdlog::logger> log_;
  // The rows of the last listing: name -> (address, created_at).
  std::map<std::string, datastore::NodeRow> listed_;
  WorkQueue queue_;
  LifetimeToken lifetime_;
};

}  // namespace kc::controller

// A rate-limited work queue in the shape of client-go's (which controller-runtime drives):
// keys, not events, are queued, so a burst of events about one object is one reconcile; a key
// is handed to at most one reconcile at a time (an add while it runs queues it once more for
// after); a reconcile that fails is retried after a per-key exponential backoff, reset by its
// first success or by forget() (the object is gone), so the per-key failure counts stay
// bounded by the keys still failing. Everything runs on the caller's io_context, one thread, no
// locks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/backoff.h"
#include "common/lifetime.h"

namespace kc::controller {

enum class ReconcileResult {
  Done,   // converged: forget the key's failures
  Retry,  // failed or not there yet: run again after the key's backoff
};

struct WorkQueueOptions {
  std::chrono::milliseconds base_delay{250};  // first retry; doubles with each failure
  std::chrono::milliseconds max_delay{10000};
};

class WorkQueue {
 public:
  using Finish = std::function<void(ReconcileResult)>;
  // Reconciles `key` and calls `finish` exactly once, now or later (on the io_context).
  using Reconciler = std::function<void(const std::string& key, Finish finish)>;

  WorkQueue(boost::asio::io_context& io, WorkQueueOptions options, Reconciler reconciler);
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it already waits (queued, or backing off after a failure); if it is
  // being reconciled, once more afterwards.
  void add(const std::string& key);
  // Queues `key` after `delay` (a later add() may run it sooner).
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  // The key's object is gone (or was dealt with elsewhere): drops its failure count and the
  // retry it waits for after a failure. Not needed after a success, which forgets failures.
  void forget(const std::string& key);
  // Stops handing out keys and drops queued ones and pending retries; reconciles in flight
  // may still finish (their result is ignored).
  void shut_down();

  size_t depth() const { return queue_.size() + running_.size(); }
  bool running(const std::string& key) const { return running_.contains(key); }
  int failures(const std::string& key) const;
  // How many keys have failures on record (backing off, or failing again).
  size_t failing() const { return failures_.size(); }
  // The delay before the next retry of a key that failed `failures` times (1 or more).
  std::chrono::milliseconds backoff(int failures) const;

 private:
  void schedule();
  void dispatch();
  void finished(const std::string& key, ReconcileResult result);

  boost::asio::io_context& io_;
  WorkQueueOptions options_;
  Reconciler reconciler_;
  Backoff backoff_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;   // the keys in queue_
  std::set<std::string> running_;  // handed to the reconciler, not finished
  std::set<std::string> again_;    // added while running: queued again when it finishes
  std::map<std::string, int> failures_;
  std::map<std::string, std::shared_ptr<boost::asio::steady_timer>> delayed_;
  bool dispatch_posted_ = false;
  bool shut_down_ = false;
  LifetimeToken lifetime_;
};

}  // namespace kc::controller

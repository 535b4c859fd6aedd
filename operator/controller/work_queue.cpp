#include "operator/controller/work_queue.h"

#include <boost/asio/post.hpp>

namespace kc::controller {

WorkQueue::WorkQueue(boost::asio::io_context& io, WorkQueueOptions options, Reconciler reconciler)
    : io_(io),
      options_(options),
      reconciler_(std::move(reconciler)),
      backoff_(options.base_delay, options.max_delay, 0.0) {}

void WorkQueue::add(const std::string& key) {
  if (shut_down_) return;
  if (running_.contains(key)) {
    again_.insert(key);
    return;
  }
  // A key backing off after failures waits for its retry: events about the object do not
  // defeat the rate limit.
  if (delayed_.contains(key) && failures(key) > 0) return;
  if (!queued_.insert(key).second) return;
  queue_.push_back(key);
  schedule();
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  if (shut_down_) return;
  if (delay.count() <= 0) return add(key);
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  // A newer delayed add replaces an older one: the backoff that applies is the latest.
  if (auto old = delayed_.find(key); old != delayed_.end()) old->second->cancel();
  delayed_[key] = timer;
  timer->async_wait(lifetime_.wrap([this, key, timer](boost::system::error_code ec) {
    if (ec) return;
    if (auto it = delayed_.find(key); it != delayed_.end() && it->second == timer)
      delayed_.erase(it);
    add(key);
  }));
}

void WorkQueue::forget(const std::string& key) {
  // A key with failures that waits in delayed_ waits for its retry (as add() assumes too).
  auto it = delayed_.find(key);
  if (failures_.erase(key) && it != delayed_.end()) {
    it->second->cancel();
    delayed_.erase(it);
  }
}

void WorkQueue::shut_down() {
  shut_down_ = true;
  queue_.clear();
  queued_.clear();
  again_.clear();
  for (auto& [key, timer] : delayed_) timer->cancel();
  delayed_.clear();
}

int WorkQueue::failures(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::chrono::milliseconds WorkQueue::backoff(int failures) const {
  return backoff_.ceiling(failures > 0 ? failures - 1 : 0);
}

// Reconcilers run from the io_context, never inside add(): a reconciler that adds keys (its
// own included) does not recurse.
void WorkQueue::schedule() {
  if (dispatch_posted_) return;
  dispatch_posted_ = true;
  boost::asio::post(io_, lifetime_.wrap([this] {
    dispatch_posted_ = false;
    dispatch();
  }));
}

void WorkQueue::dispatch() {
  while (!shut_down_ && !queue_.empty()) {
    auto key = std::move(queue_.front());
    queue_.pop_front();
    queued_.erase(key);
    running_.insert(key);
    auto once = std::make_shared<bool>(false);
    reconciler_(key, lifetime_.wrap([this, key, once](ReconcileResult result) {
      if (*once) return;  // a second call would free the key while another run holds it
      *once = true;
      finished(key, result);
    }));
  }
}

void WorkQueue::finished(const std::string& key, ReconcileResult result) {
  running_.erase(key);
  if (shut_down_) return;
  bool again = again_.erase(key) > 0;
  if (result == ReconcileResult::Done) {
    failures_.erase(key);
    if (again) add(key);
    return;
  }
  // Added meanwhile or not, a failed key comes back after its backoff.
  add_after(key, backoff(++failures_[key]));
}

}  // namespace kc::controller

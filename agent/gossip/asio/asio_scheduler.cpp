#include "agent/gossip/asio/asio_runtime.h"
#include "common/noexcept_cleanup.h"

namespace kc::gossip {

AsioScheduler::~AsioScheduler() {
  // Handlers still queued see operation_aborted and never touch us.
  noexcept_cleanup([this] {
    for (auto& [id, p] : pending_) p.timer->cancel();
  });
}

Scheduler::TimerId AsioScheduler::schedule(Duration delay, std::function<void()> fn) {
  TimerId id = next_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    // Move everything out first: the callback may schedule or cancel other timers.
    auto done = std::move(it->second);
    pending_.erase(it);
    done.fn();
  });
  pending_.emplace(id, Pending{std::move(timer), std::move(fn)});
  return id;
}

void AsioScheduler::cancel(TimerId id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  it->second.timer->cancel();
  pending_.erase(it);
}

}  // namespace kc::gossip

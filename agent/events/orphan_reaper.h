// Reaps the orphans of handler scripts. A handler that starts a background process and exits
// leaves that process to the nearest reaper; in a container the agent is PID 1, so without
// this every such process ends as a zombie of the agent, one per event, until the pod's PID
// limit is reached. The agent becomes a child subreaper (PID 1 is one already), so the same
// happens outside containers, and reaps on SIGCHLD every exited child that is not a handler
// ChildProcess is waiting for (those are reaped by their ChildProcess, with their status).
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdint>
#include <functional>

#include "common/lifetime.h"

namespace kc::events {

class OrphanReaper {
 public:
  // is_tracked(pid): true for the children a ChildProcess reaps itself.
  OrphanReaper(boost::asio::io_context& io, std::function<bool(pid_t)> is_tracked);
  ~OrphanReaper();
  OrphanReaper(const OrphanReaper&) = delete;
  OrphanReaper& operator=(const OrphanReaper&) = delete;

  // Becomes a subreaper and starts listening for SIGCHLD. False (with errno's text logged)
  // when the kernel refuses the subreaper role; orphans then go to PID 1 as before.
  bool start();
  // Reaps every exited untracked child now; returns how many.
  size_t reap_now();
  uint64_t reaped() const { return reaped_; }

 private:
  void wait_signal();

  boost::asio::signal_set sigchld_;
  std::function<bool(pid_t)> is_tracked_;
  uint64_t reaped_ = 0;
  LifetimeToken lifetime_;
};

}  // namespace kc::events

#include "agent/events/orphan_reaper.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/logging.h"
#include "common/proc_file.h"

namespace kc::events {

namespace {

// Our direct children, from every thread's children list: an orphan is handed to one of the
// reaper's threads, not always the main one.
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    auto list = proc_file::read((task.path() / "children").c_str());
    if (!list) continue;
    for (auto field : proc_file::fields(*list))
      if (auto pid = proc_file::to_u64(field)) out.push_back(pid_t(*pid));
  }
  return out;
}

}  // namespace

OrphanReaper::OrphanReaper(boost::asio::io_context& io, std::function<bool(pid_t)> is_tracked)
    : sigchld_(io), is_tracked_(std::move(is_tracked)) {}

OrphanReaper::~OrphanReaper() {
  lifetime_.end();
  boost::system::error_code ignored;
  sigchld_.cancel(ignored);
}

bool OrphanReaper::start() {
  if (::getpid() != 1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    kc::log::get("agent")->warn("cannot become the reaper of handlers' orphans: {}",
                                std::strerror(errno));
    return false;
  }
  boost::system::error_code ec;
  sigchld_.add(SIGCHLD, ec);
  if (ec) {
    kc::log::get("agent")->warn("cannot watch SIGCHLD for handlers' orphans: {}", ec.message());
    return false;
  }
  wait_signal();
  // Orphans that exited before the signal was watched.
  reap_now();
  return true;
}

void OrphanReaper::wait_signal() {
  sigchld_.async_wait(lifetime_.wrap([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap_now();
    wait_signal();
  }));
}

size_t OrphanReaper::reap_now() {
  size_t n = 0;
  for (pid_t pid : children()) {
    if (is_tracked_ && is_tracked_(pid)) continue;
    // WNOHANG: a live orphan stays (its exit raises SIGCHLD later).
    if (::waitpid(pid, nullptr, WNOHANG) == pid) ++n;
  }
  reaped_ += n;
  return n;
}

}  // namespace kc::events

// Runs one shell command as serf's agent runs event handlers (/bin/sh -c COMMAND), without
// blocking the event loop: posix_spawn with pipes for stdin and the combined stdout/stderr,
// exit noticed through a pidfd on the io_context (no SIGCHLD handler, no waiting thread).
// The child gets its own process group so a timeout kills the whole pipeline it started.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kc::events {

struct ChildResult {
  bool started = false;    // false: spawn failed (`error` says why)
  bool timed_out = false;  // killed after the timeout
  int exit_code = -1;      // when it exited normally
  int signal = 0;          // when a signal ended it
  std::string output;      // the last `output_limit` bytes of stdout+stderr
  size_t output_total = 0;
  std::string error;
  std::chrono::steady_clock::duration elapsed{};

  bool ok() const { return started && !timed_out && signal == 0 && exit_code == 0; }
};

struct ChildOptions {
  std::chrono::milliseconds timeout{60000};
  size_t output_limit = size_t{8} * 1024;  // serf's maxBufSize
  std::string shell = "/bin/sh";
};

class ChildProcess : public std::enable_shared_from_this<ChildProcess> {
 public:
  using Done = std::function<void(const ChildResult&)>;

  // Starts `command`; `done` runs on the io_context once it has exited (or failed to start)
  // and its output is collected.
  static std::shared_ptr<ChildProcess> run(boost::asio::io_context& io, const std::string& command,
                                           const std::vector<std::string>& env, std::string input,
                                           const ChildOptions& options, Done done);
  ~ChildProcess();

  // SIGKILL to the child's process group (agent shutdown); `done` still runs.
  void kill();
  pid_t pid() const { return pid_; }
  // True while `pid` is a child some ChildProcess has started and not yet reaped: the
  // OrphanReaper leaves those (and their exit status) to it.
  static bool is_waiting_for(pid_t pid);

  struct State;

 private:
  explicit ChildProcess(boost::asio::io_context& io);
  void watch_exit();
  bool reap();  // true once the child has been reaped
  void write_input();
  void read_output();
  void finish();

  std::unique_ptr<State> s_;
  pid_t pid_ = -1;
};

}  // namespace kc::events

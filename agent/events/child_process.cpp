#include "agent/events/child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <cstring>
#include <unordered_set>

namespace kc::events {

namespace asio = boost::asio;

struct ChildProcess::State {
  explicit State(asio::io_context& io)
      : io(io), in(io), out(io), pidfd(io), timeout(io), poll(io), drain(io) {}
  asio::io_context& io;
  asio::posix::stream_descriptor in, out, pidfd;
  asio::steady_timer timeout, poll, drain;
  ChildOptions options;
  std::string input;
  Done done;
  ChildResult result;
  std::array<char, 4096> buf{};
  std::chrono::steady_clock::time_point started;
  bool exited = false, eof = false, finished = false;
};

namespace {

// The children started and not yet reaped (the event loop's thread only).
std::unordered_set<pid_t>& waiting_for() {
  static std::unordered_set<pid_t> pids;
  return pids;
}

void close_pair(int p[2]) {
  if (p[0] >= 0) ::close(p[0]);
  if (p[1] >= 0) ::close(p[1]);
}

// Spawns `shell -c command` in its own process group with stdin/stdout/stderr on the pipes.
// Returns 0 or an errno value.
int spawn(const ChildOptions& o, const std::string& command, const std::vector<std::string>& env,
          int in_fd, int out_fd, pid_t& pid) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  // Asio's sockets are not all close-on-exec; the handler must not inherit our listeners.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // We ignore SIGPIPE (pipes to children that exit early); the child must not inherit that.
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::vector<char*> argv = {const_cast<char*>(o.shell.c_str()), const_cast<char*>("-c"),
                             const_cast<char*>(command.c_str()), nullptr};
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int rc = posix_spawn(&pid, o.shell.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

}  // namespace

ChildProcess::ChildProcess(asio::io_context& io) : s_(std::make_unique<State>(io)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !s_->exited) {
    ::kill(-pid_, SIGKILL);
    // Not reaped if it has not died yet: from here on it is an orphan like any other.
    ::waitpid(pid_, nullptr, WNOHANG);
    waiting_for().erase(pid_);
  }
}

bool ChildProcess::is_waiting_for(pid_t pid) {
  return waiting_for().contains(pid);
}

std::shared_ptr<ChildProcess> ChildProcess::run(asio::io_context& io, const std::string& command,
                                                const std::vector<std::string>& env,
                                                std::string input, const ChildOptions& options,
                                                Done done) {
  // A handler that exits without reading stdin must not kill the agent with SIGPIPE.
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;

  std::shared_ptr<ChildProcess> self(new ChildProcess(io));
  auto& s = *self->s_;
  s.options = options;
  s.input = std::move(input);
  s.done = std::move(done);
  s.started = std::chrono::steady_clock::now();

  int in_p[2] = {-1, -1};
  int out_p[2] = {-1, -1};
  int err = 0;
  if (::pipe2(in_p, O_CLOEXEC) != 0 || ::pipe2(out_p, O_CLOEXEC) != 0) err = errno;
  if (!err) err = spawn(options, command, env, in_p[0], out_p[1], self->pid_);
  if (err) {
    close_pair(in_p);
    close_pair(out_p);
    self->pid_ = -1;
    s.result.error = std::string("cannot start handler: ") + std::strerror(err);
    asio::post(io, [self] { self->finish(); });
    return self;
  }
  s.result.started = true;
  waiting_for().insert(self->pid_);
  ::close(in_p[0]);
  ::close(out_p[1]);
  s.in.assign(in_p[1]);
  s.out.assign(out_p[0]);

  self->watch_exit();
  self->write_input();
  self->read_output();
  s.timeout.expires_after(options.timeout);
  s.timeout.async_wait([self](const boost::system::error_code& ec) {
    if (ec || self->s_->exited || self->s_->finished) return;
    self->s_->result.timed_out = true;
    self->kill();
  });
  return self;
}

void ChildProcess::watch_exit() {
  auto& s = *s_;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (fd >= 0) {
    s.pidfd.assign(fd);
    s.pidfd.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [self = shared_from_this()](const boost::system::error_code&) { self->reap(); });
    return;
  }
  // Kernels before 5.3 have no pidfd: look every 20 ms instead.
  s.poll.expires_after(std::chrono::milliseconds(20));
  s.poll.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->s_->finished) return;
    if (!self->reap()) self->watch_exit();
  });
}

bool ChildProcess::reap() {
  auto& s = *s_;
  if (s.exited || s.finished) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) {
    if (s.pidfd.is_open())  // spurious wake-up: wait again
      s.pidfd.async_wait(
          asio::posix::stream_descriptor::wait_read,
          [self = shared_from_this()](const boost::system::error_code&) { self->reap(); });
    return false;
  }
  s.exited = true;
  waiting_for().erase(pid_);
  if (r == pid_) {
    if (WIFEXITED(status)) s.result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) s.result.signal = WTERMSIG(status);
  } else {
    s.result.error = std::string("waitpid: ") + std::strerror(errno);
  }
  if (s.eof) {
    finish();
  } else {
    // A background process the handler left behind may hold the output pipe open; collect
    // what comes within a second, then stop reading.
    s.drain.expires_after(std::chrono::seconds(1));
    s.drain.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish();
    });
  }
  return true;
}

void ChildProcess::write_input() {
  auto& s = *s_;
  if (s.input.empty()) {
    boost::system::error_code ignored;
    s.in.close(ignored);
    return;
  }
  asio::async_write(s.in, asio::buffer(s.input),
                    [self = shared_from_this()](const boost::system::error_code&, size_t) {
                      // EPIPE (the handler did not read stdin) is fine, as it is for serf.
                      boost::system::error_code ignored;
                      self->s_->in.close(ignored);
                    });
}

void ChildProcess::read_output() {
  auto& s = *s_;
  s.out.async_read_some(asio::buffer(s.buf), [self = shared_from_this()](
                                                 const boost::system::error_code& ec, size_t n) {
    auto& s = *self->s_;
    if (s.finished) return;
    if (n > 0) {
      s.result.output.append(s.buf.data(), n);
      s.result.output_total += n;
      // Keep the tail, like serf's circular buffer, without trimming on every read.
      if (s.result.output.size() > 2 * s.options.output_limit)
        s.result.output.erase(0, s.result.output.size() - s.options.output_limit);
    }
    if (ec) {
      s.eof = true;
      if (s.exited) self->finish();
      return;
    }
    self->read_output();
  });
}

void ChildProcess::kill() {
  if (pid_ > 0 && !s_->exited) ::kill(-pid_, SIGKILL);
}

void ChildProcess::finish() {
  auto& s = *s_;
  if (s.finished) return;
  s.finished = true;
  boost::system::error_code ignored;
  s.timeout.cancel();
  s.poll.cancel();
  s.drain.cancel();
  s.in.close(ignored);
  s.out.close(ignored);
  s.pidfd.close(ignored);
  if (s.result.output.size() > s.options.output_limit)
    s.result.output.erase(0, s.result.output.size() - s.options.output_limit);
  s.result.elapsed = std::chrono::steady_clock::now() - s.started;
  auto done = std::move(s.done);
  if (done) done(s.result);
}

}  // namespace kc::events

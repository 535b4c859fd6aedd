// Handler processes: stdin in, output out, exit codes, the environment, timeouts that kill
// the whole process group, spawn failures, the output cap, handlers that ignore stdin or
// leave a background process holding the pipe, and no inherited descriptors.
#include "agent/events/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>

#include "events_test_util.h"
#include "support/process.h"
#include "support/wait.h"

using namespace kc;
using namespace kc::events;
using namespace std::chrono_literals;

namespace {

std::optional<ChildResult> run(const std::string& cmd, std::string input = "",
                               std::vector<std::string> env = {"PATH=/usr/bin:/bin"},
                               ChildOptions o = {}) {
  boost::asio::io_context io;
  std::optional<ChildResult> out;
  auto child =
      ChildProcess::run(io, cmd, env, std::move(input), o, [&](const ChildResult& r) { out = r; });
  test::run_until(
      io, [&] { return out.has_value(); }, 30s);
  return out;
}

// Gone, or a zombie waiting for init: either way no longer running.
bool not_running(pid_t pid) {
  char state = test::process_state(pid);
  return state == 0 || state == 'Z';
}

}  // namespace

TEST(ChildProcess, StdinToOutputAndExitCodes) {
  auto r = run("cat; echo done >&2", "hello\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->output, "hello\ndone\n");
  r = run("exit 3");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->exit_code, 3);
  r = run("kill -TERM $$");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->signal, SIGTERM);
}

TEST(ChildProcess, GetsExactlyTheGivenEnvironment) {
  auto r = run("echo \"$SERF_EVENT|$HOME\"", "", {"PATH=/usr/bin:/bin", "SERF_EVENT=user"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output, "user|\n");
}

TEST(ChildProcess, TimeoutKillsTheWholeGroup) {
  test::TempDir dir;
  auto pidfile = dir.path() + "/bg.pid";
  ChildOptions o;
  o.timeout = 300ms;
  auto r = run("sleep 60 & echo $! > " + pidfile + "; wait", "", {"PATH=/usr/bin:/bin"}, o);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_LT(r->elapsed, 10s);
  pid_t bg = 0;
  std::ifstream(pidfile) >> bg;
  ASSERT_GT(bg, 0);
  EXPECT_TRUE(test::wait_until([&] { return not_running(bg); }, 10s));
}

TEST(ChildProcess, SpawnFailureIsReported) {
  ChildOptions o;
  o.shell = "/nonexistent/sh";
  auto r = run("true", "", {}, o);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->started);
  EXPECT_NE(r->error.find("cannot start handler"), std::string::npos);
}

TEST(ChildProcess, OutputKeepsTheTail) {
  ChildOptions o;
  o.output_limit = 1000;
  auto r = run("i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done", "",
               {"PATH=/usr/bin:/bin"}, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output.size(), 1000u);
  EXPECT_GT(r->output_total, 10000u);
  EXPECT_NE(r->output.find("line1999\n"), std::string::npos);
}

TEST(ChildProcess, HandlerIgnoringStdinDoesNotHurt) {
  auto r = run("exit 0", std::string(1 << 20, 'x'));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
}

TEST(ChildProcess, BackgroundProcessHoldingOutputDoesNotHang) {
  test::TempDir dir;
  auto pidfile = dir.path() + "/bg.pid";
  auto r = run("sleep 30 & echo $! > " + pidfile + "; echo hi");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->output, "hi\n");
  EXPECT_LT(r->elapsed, 10s);
  pid_t bg = 0;
  std::ifstream(pidfile) >> bg;
  if (bg > 0) ::kill(bg, SIGKILL);  // ours: started by this test
}

TEST(ChildProcess, InheritsNoDescriptorsBeyondStdio) {
  auto r = run("ls /proc/self/fd");
  ASSERT_TRUE(r);
  // 0, 1, 2 and the directory ls itself has open.
  std::vector<std::string> fds;
  std::istringstream in(r->output);
  for (std::string f; in >> f;) fds.push_back(f);
  EXPECT_LE(fds.size(), 4u) << r->output;
}

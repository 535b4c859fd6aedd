// The agent as the reaper of what handler scripts leave behind (in a container it is PID 1):
// a background process a handler started is reaped when it exits, not left a zombie, and the
// reaper never takes a handler's own exit status from the ChildProcess waiting for it.
#include "agent/events/orphan_reaper.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <optional>
#include <string>

#include "agent/events/child_process.h"
#include "events_test_util.h"
#include "support/process.h"
#include "support/wait.h"

using namespace kc;
using namespace kc::events;
using namespace std::chrono_literals;

namespace {

// Runs `cmd` as a handler and returns its result.
std::optional<ChildResult> run_handler(boost::asio::io_context& io, const std::string& cmd) {
  std::optional<ChildResult> out;
  auto child = ChildProcess::run(io, cmd, {"PATH=/usr/bin:/bin"}, "", ChildOptions{},
                                 [&](const ChildResult& r) { out = r; });
  test::run_until(
      io, [&] { return out.has_value(); }, 30s);
  return out;
}

// A handler that leaves a short-lived background process (not holding the output pipe) and
// prints its PID.
constexpr const char* kLeavesAnOrphan = "sleep 0.2 </dev/null >/dev/null 2>&1 & echo $!";

}  // namespace

TEST(OrphanReaper, WithoutItAHandlersOrphanStaysAZombieOfTheAgent) {
  // What PID 1 (or any subreaper) that does not reap gets: the case the reaper exists for.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  boost::asio::io_context io;
  auto r = run_handler(io, kLeavesAnOrphan);
  ASSERT_TRUE(r && r->ok()) << (r ? r->output : "no result");
  pid_t orphan = std::stoi(r->output);
  EXPECT_TRUE(test::wait_until([&] { return test::process_state(orphan) == 'Z'; }, 10s))
      << "state " << test::process_state(orphan);
  EXPECT_EQ(::waitpid(orphan, nullptr, 0), orphan);  // clean up what this test made
}

TEST(OrphanReaper, ReapsAHandlersOrphanWhenItExits) {
  boost::asio::io_context io;
  OrphanReaper reaper(io, &ChildProcess::is_waiting_for);
  ASSERT_TRUE(reaper.start());
  auto r = run_handler(io, kLeavesAnOrphan);
  ASSERT_TRUE(r && r->ok()) << (r ? r->output : "no result");
  pid_t orphan = std::stoi(r->output);
  EXPECT_TRUE(test::run_until(
      io, [&] { return test::process_state(orphan) == 0; }, 10s))
      << "state " << test::process_state(orphan);
  EXPECT_GE(reaper.reaped(), 1u);
}

TEST(OrphanReaper, LeavesHandlersExitStatusToTheirChildProcess) {
  boost::asio::io_context io;
  OrphanReaper reaper(io, &ChildProcess::is_waiting_for);
  ASSERT_TRUE(reaper.start());
  for (int i = 0; i < 20; ++i) {
    auto r = run_handler(io, "exit " + std::to_string(i % 5 + 1));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->error.empty()) << r->error;
    EXPECT_EQ(r->exit_code, i % 5 + 1);
  }
  EXPECT_EQ(reaper.reaped(), 0u);
}

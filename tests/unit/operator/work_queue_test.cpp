// The controller's work queue: one reconcile per key however many adds, never two at once for
// a key, failing keys retried after a growing per-key backoff, a success forgetting failures.
#include "operator/controller/work_queue.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <vector>

using namespace kc::controller;
using Clock = std::chrono::steady_clock;

namespace {

// Runs `io` until `done` holds or two seconds pass; returns `done`.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (!done() && Clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Lets queued handlers (posted dispatches, finished reconciles) run, without waiting for timers.
void drain(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

WorkQueueOptions fast() {
  WorkQueueOptions o;
  o.base_delay = std::chrono::milliseconds(5);
  o.max_delay = std::chrono::milliseconds(40);
  return o;
}

}  // namespace

TEST(WorkQueue, RepeatedAddsOfAKeyAreOneReconcile) {
  boost::asio::io_context io;
  std::map<std::string, int> calls;
  WorkQueue q(io, fast(), [&](const std::string& key, WorkQueue::Finish finish) {
    ++calls[key];
    finish(ReconcileResult::Done);
  });
  for (int i = 0; i < 5; ++i) q.add("a");
  q.add("b");
  EXPECT_EQ(q.depth(), 2u);
  drain(io);
  EXPECT_EQ(calls["a"], 1);
  EXPECT_EQ(calls["b"], 1);
  EXPECT_EQ(q.depth(), 0u);
}

TEST(WorkQueue, OneReconcileInFlightPerKeyAndAnAddDuringItRunsOnceMoreAfter) {
  boost::asio::io_context io;
  std::vector<WorkQueue::Finish> pending;
  int calls = 0;
  WorkQueue q(io, fast(), [&](const std::string&, WorkQueue::Finish finish) {
    ++calls;
    pending.push_back(std::move(finish));
  });
  q.add("a");
  drain(io);
  ASSERT_EQ(calls, 1);
  EXPECT_TRUE(q.running("a"));
  q.add("a");
  q.add("a");
  drain(io);
  EXPECT_EQ(calls, 1) << "a second reconcile of a key started while the first ran";
  pending[0](ReconcileResult::Done);
  drain(io);
  EXPECT_EQ(calls, 2);
  pending[1](ReconcileResult::Done);
  drain(io);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(q.depth(), 0u);
}

TEST(WorkQueue, AFinishCalledTwiceCountsOnce) {
  boost::asio::io_context io;
  std::vector<WorkQueue::Finish> pending;
  WorkQueue q(io, fast(), [&](const std::string&, WorkQueue::Finish finish) {
    pending.push_back(std::move(finish));
  });
  q.add("a");
  drain(io);
  ASSERT_EQ(pending.size(), 1u);
  q.add("a");  // runs again after the first finishes
  pending[0](ReconcileResult::Done);
  drain(io);
  ASSERT_EQ(pending.size(), 2u);
  pending[0](ReconcileResult::Done);  // stale: must not free the second run's key
  EXPECT_TRUE(q.running("a"));
}

TEST(WorkQueue, FailingKeyIsRetriedAfterAGrowingCappedBackoff) {
  boost::asio::io_context io;
  std::vector<Clock::time_point> at;
  WorkQueue q(io, fast(), [&](const std::string&, WorkQueue::Finish finish) {
    at.push_back(Clock::now());
    finish(ReconcileResult::Retry);
  });
  EXPECT_EQ(q.backoff(1), std::chrono::milliseconds(5));
  EXPECT_EQ(q.backoff(2), std::chrono::milliseconds(10));
  EXPECT_EQ(q.backoff(4), std::chrono::milliseconds(40));
  EXPECT_EQ(q.backoff(9), std::chrono::milliseconds(40));
  q.add("a");
  ASSERT_TRUE(run_until(io, [&] { return at.size() >= 6; }));
  for (size_t i = 1; i < at.size(); ++i) {
    auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(at[i] - at[i - 1]);
    EXPECT_GE(gap, q.backoff(static_cast<int>(i))) << "retry " << i << " came early";
  }
  EXPECT_GE(q.failures("a"), 5);
}

TEST(WorkQueue, AddsDuringBackoffDoNotDefeatTheRateLimit) {
  boost::asio::io_context io;
  WorkQueueOptions o;
  o.base_delay = std::chrono::milliseconds(300);
  o.max_delay = std::chrono::milliseconds(300);
  int calls = 0;
  WorkQueue q(io, o, [&](const std::string&, WorkQueue::Finish finish) {
    ++calls;
    finish(ReconcileResult::Retry);
  });
  q.add("a");
  drain(io);
  ASSERT_EQ(calls, 1);
  auto failed_at = Clock::now();
  for (int i = 0; i < 10; ++i) q.add("a");
  drain(io);
  EXPECT_EQ(calls, 1) << "an add ran a backing-off key at once";
  ASSERT_TRUE(run_until(io, [&] { return calls == 2; }));
  EXPECT_GE(Clock::now() - failed_at, std::chrono::milliseconds(300));
}

TEST(WorkQueue, SuccessForgetsFailuresAndOtherKeysAreNotHeldBack) {
  boost::asio::io_context io;
  int a_calls = 0, b_calls = 0;
  WorkQueue q(io, fast(), [&](const std::string& key, WorkQueue::Finish finish) {
    if (key == "a") {
      ++a_calls;
      finish(a_calls < 3 ? ReconcileResult::Retry : ReconcileResult::Done);
    } else {
      ++b_calls;
      finish(ReconcileResult::Done);
    }
  });
  q.add("a");
  q.add("b");
  drain(io);
  EXPECT_EQ(b_calls, 1);
  EXPECT_EQ(q.failures("a"), 1);
  ASSERT_TRUE(run_until(io, [&] { return a_calls == 3 && q.depth() == 0; }));
  EXPECT_EQ(q.failures("a"), 0);
}

TEST(WorkQueue, ShutDownDropsQueuedKeysAndRetries) {
  boost::asio::io_context io;
  int calls = 0;
  WorkQueue q(io, fast(), [&](const std::string&, WorkQueue::Finish finish) {
    ++calls;
    finish(ReconcileResult::Retry);
  });
  q.add("a");
  drain(io);
  ASSERT_EQ(calls, 1);
  q.shut_down();
  q.add("b");
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(q.depth(), 0u);
}

// Keys whose object vanished while they were failing are forgotten, so the failure counts stay
// bounded by the keys still failing, and their pending retries do not run.
TEST(WorkQueue, ForgetDropsAVanishedKeysFailuresAndItsRetry) {
  boost::asio::io_context io;
  std::map<std::string, int> calls;
  WorkQueue q(io, fast(), [&](const std::string& key, WorkQueue::Finish finish) {
    ++calls[key];
    finish(ReconcileResult::Retry);
  });
  for (int i = 0; i < 100; ++i) q.add("gone-" + std::to_string(i));
  q.add("still");
  ASSERT_TRUE(
      run_until(io, [&] { return q.failures("gone-99") >= 2 && q.failures("still") >= 2; }));
  EXPECT_EQ(q.failing(), 101u);
  for (int i = 0; i < 100; ++i) q.forget("gone-" + std::to_string(i));
  EXPECT_EQ(q.failing(), 1u);
  EXPECT_EQ(q.failures("gone-7"), 0);
  EXPECT_GE(q.failures("still"), 2);
  auto gone_calls = calls["gone-7"];
  int still_calls = calls["still"];
  ASSERT_TRUE(run_until(io, [&] { return calls["still"] >= still_calls + 2; }));
  EXPECT_EQ(calls["gone-7"], gone_calls);
  EXPECT_EQ(q.failing(), 1u);
  // Forgetting a key that never failed, or twice, is harmless; an add afterwards runs at once.
  q.forget("never");
  q.forget("gone-7");
  q.add("gone-7");
  drain(io);
  EXPECT_EQ(calls["gone-7"], gone_calls + 1);
}

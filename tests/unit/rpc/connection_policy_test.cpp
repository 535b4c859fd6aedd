// The RPC connection deadlines and the choice of the connection shed at the cap, as pure
// functions of the connections' state and the time.
#include "agent/rpc/connection_policy.h"

#include <gtest/gtest.h>

namespace {

using namespace kc::rpc;
using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point{} + 1h;

ConnectionState conn(bool authenticated, bool idle, Clock::duration connected_at,
                     Clock::duration last_request_at) {
  return {authenticated, idle, t0 + connected_at, t0 + last_request_at};
}

TEST(ConnectionDeadline, UnauthenticatedClosesAtTheAuthTimeout) {
  ConnectionDeadlines d{5s, 60s};
  auto c = conn(false, true, 0s, 0s);
  auto before = check_deadline(c, d, t0 + 4s);
  EXPECT_EQ(before.verdict, DeadlineVerdict::Keep);
  EXPECT_EQ(before.next_check, t0 + 5s);
  EXPECT_EQ(check_deadline(c, d, t0 + 5s).verdict, DeadlineVerdict::AuthTimeout);
  // Talking without authenticating does not extend it (a busy pre-auth connection too).
  EXPECT_EQ(check_deadline(conn(false, false, 0s, 4900ms), d, t0 + 5s).verdict,
            DeadlineVerdict::AuthTimeout);
}

TEST(ConnectionDeadline, AuthenticatedIdleClosesAfterTheIdleTimeout) {
  ConnectionDeadlines d{5s, 60s};
  auto c = conn(true, true, 0s, 10s);
  auto before = check_deadline(c, d, t0 + 69s);
  EXPECT_EQ(before.verdict, DeadlineVerdict::Keep);
  EXPECT_EQ(before.next_check, t0 + 70s);
  EXPECT_EQ(check_deadline(c, d, t0 + 70s).verdict, DeadlineVerdict::IdleTimeout);
}

TEST(ConnectionDeadline, BusyConnectionsStayAndAreLookedAtAgain) {
  ConnectionDeadlines d{5s, 60s};
  auto c = conn(true, false, 0s, 0s);  // a monitor open for an hour
  auto check = check_deadline(c, d, t0 + 3600s);
  EXPECT_EQ(check.verdict, DeadlineVerdict::Keep);
  EXPECT_EQ(check.next_check, t0 + 3660s);
}

TEST(ConnectionDeadline, ZeroIdleTimeoutKeepsAuthenticatedConnections) {
  ConnectionDeadlines d{5s, 0s};
  auto check = check_deadline(conn(true, true, 0s, 0s), d, t0 + 100h);
  EXPECT_EQ(check.verdict, DeadlineVerdict::Keep);
  EXPECT_EQ(check.next_check, Clock::time_point::max());
}

TEST(ShedPick, OldestUnauthenticatedFirst) {
  std::vector<ConnectionState> cs = {
      conn(true, true, 0s, 1s),    // authenticated, idle since 1 s
      conn(false, true, 5s, 5s),   // unauthenticated, connected at 5 s
      conn(false, false, 3s, 9s),  // unauthenticated, connected at 3 s, talking
      conn(true, false, 0s, 0s),   // authenticated and busy: never shed
  };
  EXPECT_EQ(pick_connection_to_shed(cs), 2u);
}

TEST(ShedPick, ThenTheAuthenticatedOneIdleLongest) {
  std::vector<ConnectionState> cs = {
      conn(true, true, 0s, 8s),
      conn(true, false, 0s, 0s),
      conn(true, true, 1s, 2s),
  };
  EXPECT_EQ(pick_connection_to_shed(cs), 2u);
}

TEST(ShedPick, NothingWhenEveryConnectionIsBusy) {
  std::vector<ConnectionState> cs = {conn(true, false, 0s, 0s), conn(true, false, 1s, 1s)};
  EXPECT_EQ(pick_connection_to_shed(cs), std::nullopt);
  EXPECT_EQ(pick_connection_to_shed({}), std::nullopt);
}

}  // namespace

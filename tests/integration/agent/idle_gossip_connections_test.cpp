// ~200 idle TCP connections held against our agent's gossip port for a minute (reopened as
// soon as the agent closes one, as an attacker would) while Debian's serf agent and another
// of our agents join it, early and late in the hold. Before the gossip transport shed idle
// connections, the 129th connection and every join after it were refused.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "agent_fixture.h"

using namespace kc;
using namespace kc::test;
using namespace std::chrono_literals;

namespace {

// Keeps `count` connections to 127.0.0.1:port open and silent, reconnecting closed ones.
class IdleConnectionHolder {
 public:
  IdleConnectionHolder(int port, int count) : port_(port), fds_(count, -1) {
    thread_ = std::thread([this] { run(); });
  }
  ~IdleConnectionHolder() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  uint64_t reconnects() const { return reconnects_; }
  int open_now() const { return open_; }

 private:
  int connect_one() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  void run() {
    while (!stop_) {
      int open = 0;
      for (int& fd : fds_) {
        if (fd >= 0) {
          // Closed by the agent? (readable with 0 bytes, or an error)
          pollfd p{fd, POLLIN, 0};
          char b;
          if (::poll(&p, 1, 0) > 0 && ::recv(fd, &b, 1, MSG_DONTWAIT) <= 0) {
            ::close(fd);
            fd = -1;
          }
        }
        if (fd < 0 && (fd = connect_one()) >= 0) ++reconnects_;
        open += fd >= 0;
      }
      open_ = open;
      std::this_thread::sleep_for(20ms);  // the attacker's pace, not a wait for a condition
    }
  }
  int port_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<int> open_{0};
  std::thread thread_;
};

GossipAgent::Options serf_joining(const std::string& name, const std::string& join) {
  GossipAgent::Options o;
  o.kind = GossipAgent::Kind::Serf;
  o.name = name;
  o.profile = "local";
  o.join = {join};
  return o;
}

}  // namespace

TEST(IdleGossipConnections, HeldForAMinuteWhileSerfAndOurAgentsJoin) {
  TempDir dir;
  HttpAgent seed(dir, "seed");
  ASSERT_TRUE(seed.wait_http());
  ASSERT_TRUE(seed.agent().wait_ready());
  auto started = std::chrono::steady_clock::now();
  IdleConnectionHolder holder(seed.agent().bind_port(), 200);
  ASSERT_TRUE(wait_until([&] { return holder.open_now() >= 150; }, 10s)) << holder.open_now();

  // Early in the hold: a serf agent and one of ours join the seed.
  GossipAgent serf1(dir, serf_joining("serf-1", seed.agent().gossip_addr()));
  HttpAgent ours1(dir, "ours-1", {}, {seed.agent().gossip_addr()});
  EXPECT_TRUE(wait_until([&] { return seed.agent().alive_count() == 3; }, 30s));
  EXPECT_TRUE(wait_until([&] { return serf1.alive_count() == 3; }, 30s));
  EXPECT_EQ(get(seed.base(), "/healthz").response.status, 200);

  // Late in the hold (after the attacker has kept it up for most of a minute): two more.
  std::this_thread::sleep_until(started + 45s);  // the scenario's timeline, not a wait for a state
  EXPECT_GE(holder.open_now(), 150);
  GossipAgent serf2(dir, serf_joining("serf-2", seed.agent().gossip_addr()));
  HttpAgent ours2(dir, "ours-2", {}, {seed.agent().gossip_addr()});
  EXPECT_TRUE(wait_until([&] { return seed.agent().alive_count() == 5; }, 30s));
  EXPECT_TRUE(wait_until([&] { return serf2.alive_count() == 5; }, 30s));
  // The attacker keeps at it to the end of the minute; the cluster stays whole meanwhile.
  std::this_thread::sleep_until(started + 60s);  // the scenario's timeline again
  EXPECT_GE(holder.open_now(), 150);
  EXPECT_EQ(seed.agent().alive_count(), 5u);
  EXPECT_EQ(get(seed.base(), "/healthz").response.status, 200);
  EXPECT_GT(holder.reconnects(), 200u);  // the agent did close idle ones; the holder refilled
}

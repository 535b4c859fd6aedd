// Hostile gossip traffic against real `kong-cluster agent` processes on loopback: the
// 37-byte ping that used to kill the agent, and (labelled interop: it takes a minute and
// needs Debian's serf) idle TCP connections held against the gossip port while a serf agent
// and our agents join.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_fixture.h"
#include "unit/gossip/hostile_packets.h"

using namespace kc;
using namespace kc::test;
using namespace std::chrono_literals;

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void send_udp(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  auto to = loopback(port);
  ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
}

}  // namespace

TEST(HostileGossip, ThirtySevenBytePingIsCountedAndTheAgentStaysUp) {
  TempDir dir;
  HttpAgent a(dir, "a");
  ASSERT_TRUE(a.wait_http());
  ASSERT_TRUE(a.agent().wait_ready());
  send_udp(a.agent().bind_port(), kThreeByteSourcePing);
  const std::string series = "kong_cluster_gossip_drops_total{reason=\"bad_address\"}";
  EXPECT_TRUE(wait_until([&] { return metric(a, series) == 1; }, 10s)) << metric(a, series);
  EXPECT_TRUE(a.agent().process().running()) << a.agent().process().log();
  // And it still does its job: another agent joins it.
  HttpAgent b(dir, "b", {}, {a.agent().gossip_addr()});
  EXPECT_TRUE(wait_until([&] { return a.agent().alive_count() == 2; }, 20s));
}

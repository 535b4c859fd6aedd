// Connection exhaustion, held for a minute against a real agent: an attacker without the
// token keeps 200 connections open to RPC, 400 to the HTTP API and 400 to the probe
// listener (more than each cap: 128, 256, 256), opening a new one the moment the agent closes
// one of them. Meanwhile real clients keep working: our CLI and Debian's `serf` CLI over RPC,
// curl on /healthz and /readyz of the probe listener and of the API listener, and curl with
// the bearer token on /v1/members. Before the deadlines and shedding, 128 idle connections
// locked every RPC client out and 256 made /healthz fail. The agent's log stays small: the
// lines the attacker causes are rate-limited.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <thread>

#include "support/cluster_procs.h"
#include "support/process.h"
#include "support/wait.h"

namespace kc::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Holds `count` silent connections to each port; reopens each one the agent closes.
class IdleFlood {
 public:
  IdleFlood(std::map<int, int> count_by_port) {
    for (auto [port, n] : count_by_port)
      for (int i = 0; i < n; ++i) slots_.push_back({port, connect_loopback(port)});
    thread_ = std::thread([this] { run(); });
  }
  ~IdleFlood() {
    stop_ = true;
    thread_.join();
    for (auto& s : slots_)
      if (s.fd >= 0) ::close(s.fd);
  }
  uint64_t reopened() const { return reopened_; }
  size_t open() const {
    size_t n = 0;
    for (auto& s : slots_) n += s.fd >= 0;
    return n;
  }

 private:
  struct Slot {
    int port;
    int fd;
  };
  void run() {
    std::vector<pollfd> fds(slots_.size());
    while (!stop_) {
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].fd < 0) slots_[i].fd = connect_loopback(slots_[i].port);
        fds[i] = {slots_[i].fd, POLLIN, 0};
      }
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        ssize_t n = ::recv(slots_[i].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) continue;  // never sent anything, so nothing should come; ignore it
        ::close(slots_[i].fd);
        slots_[i].fd = connect_loopback(slots_[i].port);
        ++reopened_;
      }
    }
  }
  std::vector<Slot> slots_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> reopened_{0};
  std::thread thread_;
};

struct ClientStats {
  int ok = 0;
  int failed = 0;
  Clock::duration worst{};
  std::string last_failure;
};

// Runs `argv`; success when it exits 0 and its output contains `expect`.
void run_client(ClientStats& s, const std::vector<std::string>& argv, const std::string& expect) {
  auto started = Clock::now();
  auto r = run_command(argv, 15000);
  auto took = Clock::now() - started;
  s.worst = std::max(s.worst, took);
  if (r.exit_code == 0 && r.output.find(expect) != std::string::npos) {
    ++s.ok;
  } else {
    ++s.failed;
    s.last_failure = r.output;
  }
}

size_t count_lines_with(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(IdleConnections, RealClientsAndProbesKeepWorkingForAMinute) {
  ASSERT_TRUE(have_program("serf")) << "Debian's serf is needed (hack/deps.sh installs it)";
  ASSERT_TRUE(have_program("curl")) << "curl is needed (hack/deps.sh installs it)";
  TempDir dir;
  int gossip = free_port(), rpc = free_port(), api = free_port(), probe = free_port();
  const std::string token = "idle-test-token";
  auto rpc_addr = "127.0.0.1:" + std::to_string(rpc);
  Process agent({kong_cluster_binary(), "agent", "--node", "victim", "--bind",
                 "127.0.0.1:" + std::to_string(gossip), "--rpc-addr", rpc_addr, "--http-addr",
                 "127.0.0.1:" + std::to_string(api), "--probe-addr",
                 "127.0.0.1:" + std::to_string(probe), "--profile", "local", "--rpc-auth", token},
                dir.path() + "/agent.log");
  auto url = [](int port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  };
  auto curl = [&](int port, const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"curl", "-s", "--max-time", "5", "-w", " HTTP%{http_code}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url(port, path));
    return argv;
  };
  auto ready = [&] {
    return run_command(curl(probe, "/readyz")).output.find("HTTP200") != std::string::npos;
  };
  ASSERT_TRUE(wait_until(ready, 20s)) << agent.log();

  const std::vector<std::string> cli = {kong_cluster_binary(), "members", "--rpc-addr", rpc_addr,
                                        "--rpc-auth",          token};
  const std::vector<std::string> serf = {"serf", "members", "-rpc-addr=" + rpc_addr,
                                         "-rpc-auth=" + token};
  std::map<std::string, ClientStats> stats;
  {
    IdleFlood flood({{rpc, 200}, {api, 400}, {probe, 400}});
    auto until = Clock::now() + 60s;
    while (Clock::now() < until) {
      run_client(stats["kong-cluster members"], cli, "victim");
      run_client(stats["serf members"], serf, "victim");
      run_client(stats["curl probe /healthz"], curl(probe, "/healthz"), "HTTP200");
      run_client(stats["curl probe /readyz"], curl(probe, "/readyz"), "HTTP200");
      run_client(stats["curl api /healthz"], curl(api, "/healthz"), "HTTP200");
      run_client(stats["curl api /v1/members (token)"],
                 curl(api, "/v1/members", {"-H", "Authorization: Bearer " + token}), "HTTP200");
      ASSERT_TRUE(agent.running()) << agent.log();
    }
    std::cout << "attacker connections open at the end: " << flood.open()
              << ", reopened after the agent closed them: " << flood.reopened() << "\n";
    EXPECT_GT(flood.reopened(), 0u);
  }
  for (auto& [name, s] : stats) {
    std::cout << name << ": " << s.ok << " ok, " << s.failed << " failed, slowest "
              << std::chrono::duration_cast<std::chrono::milliseconds>(s.worst).count() << " ms\n";
    EXPECT_GT(s.ok, 0) << name;
    EXPECT_EQ(s.failed, 0) << name << ": " << s.last_failure;
  }
  auto metrics = run_command(curl(probe, "/metrics")).output;
  for (const char* line :
       {"kong_cluster_rpc_connections_total{result=\"shed\"}",
        "kong_cluster_rpc_connection_timeouts_total{phase=\"auth\"}",
        "kong_cluster_http_connections_total{listener=\"api\",result=\"shed\"}",
        "kong_cluster_http_connections_total{listener=\"probe\",result=\"shed\"}"}) {
    auto at = metrics.find(line);
    ASSERT_NE(at, std::string::npos) << line;
    std::cout << metrics.substr(at, metrics.find('\n', at) - at) << "\n";
  }
  // Rate-limited: at most 5 "Accepted client" lines per 10 s however many connections came.
  auto log = agent.log();
  EXPECT_LE(count_lines_with(log, "Accepted client"), 5u * 8) << log.size() << " bytes of log";
  std::cout << "agent log: " << log.size() << " bytes, " << count_lines_with(log, "\n")
            << " lines\n";
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait_exit(30000), 0);
}

}  // namespace
}  // namespace kc::test

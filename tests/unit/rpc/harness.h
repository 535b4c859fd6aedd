// Test plumbing for the RPC tests: the event loop on a thread, a blocking raw TCP client
// that reads msgpack objects with deadlines, the recorded transcript, and a running server
// with the fake agent.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/rpc/server.h"
#include "serf_client/frame.h"
#include "support/vectors.h"
#include "unit/rpc/fake_agent.h"

namespace kc::test {

using namespace std::chrono_literals;

// The process's one event loop, driven by one thread for the duration of a test.
class LoopThread {
 public:
  LoopThread() : work_(boost::asio::make_work_guard(io)), thread_([this] { io.run(); }) {}
  ~LoopThread() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    io.stop();
    thread_.join();
  }
  // Runs fn on the loop and waits for it.
  template <typename F>
  auto on_loop(F&& fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::forward<F>(fn));
    auto fut = task.get_future();
    boost::asio::post(io, [&task] { task(); });
    return fut.get();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// A plain blocking client socket: the tests speak bytes, not our client library.
class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  bool ok() const { return fd_ >= 0; }
  void send(const Bytes& b) {
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // peer closed: the test's reads will notice
      off += static_cast<size_t>(n);
    }
  }
  void send_hex(const std::string& hex) { send(from_hex(hex)); }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads until `n` bytes are buffered; false on timeout or close.
  bool fill_to(size_t n, std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.size() < n) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }
  std::optional<Bytes> read_exact(size_t n, std::chrono::milliseconds timeout = 5000ms) {
    if (!fill_to(n, timeout)) return std::nullopt;
    Bytes out(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
    return out;
  }
  // The next msgpack object (bytes and decoded), or nullopt on timeout/close.
  std::optional<std::pair<Bytes, mp::Document>> read_object(
      std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto scan = kc::serf_client::scan_object(buf_, 64u << 20);
      if (scan.status == kc::serf_client::FrameScan::Status::Complete) {
        Bytes raw(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(scan.length));
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(scan.length));
        return std::make_pair(raw, mp::Document::parse(raw));
      }
      if (scan.status != kc::serf_client::FrameScan::Status::Incomplete) return std::nullopt;
      if (!read_some(deadline)) return std::nullopt;
    }
  }
  // True when the server closes the connection (after any bytes still buffered).
  bool wait_closed(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      if (!read_some(deadline) && !eof_) return false;
    }
    return true;
  }
  // Whether nothing arrives within `quiet`.
  bool silent_for(std::chrono::milliseconds quiet) {
    size_t before = buf_.size();
    auto deadline = std::chrono::steady_clock::now() + quiet;
    while (std::chrono::steady_clock::now() < deadline && !eof_) read_some(deadline);
    return buf_.size() == before && !eof_;
  }
  size_t buffered() const { return buf_.size(); }
  bool eof() const { return eof_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    if (eof_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    uint8_t tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.insert(buf_.end(), tmp, tmp + n);
    return true;
  }
  int fd_ = -1;
  Bytes buf_;
  bool eof_ = false;
};

// rpc_transcript.txt: the requests (">> name hex") and the raw bytes the real agent sent
// ("<< raw hex"), in order of appearance.
struct Transcript {
  struct Line {
    std::string name;
    std::string hex;
  };
  std::vector<Line> requests;
  std::vector<std::string> raws;

  static Transcript load() {
    Transcript t;
    std::ifstream in(source_path("tests/vectors/rpc_transcript.txt"));
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string mark;
      ss >> mark;
      if (mark == ">>") {
        Line l;
        ss >> l.name >> l.hex;
        t.requests.push_back(l);
      } else if (mark == "<<") {
        std::string raw, hex;
        ss >> raw >> hex;
        t.raws.push_back(hex);
      }
    }
    return t;
  }
  // The n-th request with this command name (0-based).
  const std::string& request(const std::string& name, int n = 0) const {
    for (const auto& r : requests)
      if (r.name == name && n-- == 0) return r.hex;
    throw std::runtime_error("no request " + name);
  }
};

// The server on 127.0.0.1:<free port> with the fake agent and the process log.
struct ServerHarness {
  explicit ServerHarness(std::string auth = "", size_t max_connections = 128,
                         kc::rpc::SessionLimits limits = {},
                         kc::rpc::ConnectionDeadlines deadlines = {})
      : agent(loop.io), logs(kc::rpc::make_process_log_source(loop.io)) {
    kc::rpc::ServerOptions o;
    o.bind = "127.0.0.1:0";
    o.auth_key = std::move(auth);
    o.max_connections = max_connections;
    o.limits = limits;
    o.deadlines = deadlines;
    server = std::make_unique<kc::rpc::Server>(loop.io, agent, logs.get(), o);
    loop.on_loop([&] { server->start(); });
    port = loop.on_loop([&] { return server->local_endpoint().port(); });
  }
  ~ServerHarness() {
    loop.on_loop([&] { server->stop(); });
    loop.stop();
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port); }
  size_t connections() {
    return loop.on_loop([&] { return server->connections(); });
  }

  LoopThread loop;
  FakeAgent agent;
  std::unique_ptr<kc::rpc::LogSource> logs;
  std::unique_ptr<kc::rpc::Server> server;
  uint16_t port = 0;
};

// A request frame built in the RPC dialect: header + optional body.
inline Bytes request(const std::string& command, uint64_t seq,
                     const std::function<void(mp::Writer&)>& body = {}) {
  Bytes out;
  mp::Writer w(out, mp::Dialect::Rpc);
  w.map(2).key("Command").str(command).key("Seq").uint(seq);
  if (body) body(w);
  return out;
}

inline Bytes handshake(uint64_t seq = 1) {
  return request("handshake", seq, [](mp::Writer& w) { w.map(1).key("Version").uint(1); });
}

}  // namespace kc::test

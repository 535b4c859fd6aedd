// The Beast server over loopback: keep-alive and pipelining, limits and malformed input
// (each a clear 4xx, never a crash), 100-continue, late replies, handler and read timeouts,
// the idle deadline and shedding at the connection cap, stop with a reply pending, and a
// clear error for a port in use.
#include "common/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/http/router.h"
#include "http_test_util.h"
#include "support/wait.h"

using namespace kc::http;
using namespace kc::test;
using namespace std::chrono_literals;

namespace {

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions o = {}) {
    o.bind = "127.0.0.1:0";
    router_.add("GET", "/hello", [](Request& req, const Reply& reply) {
      auto it = req.query.find("who");
      reply(json_response(200, {{"hello", it == req.query.end() ? "world" : it->second}}));
    });
    router_.add("POST", "/echo",
                [](Request& req, const Reply& reply) { reply(text_response(200, req.body)); });
    router_.add("GET", "/later", [this](Request&, const Reply& reply) {
      auto t = std::make_shared<boost::asio::steady_timer>(loop_.io(), 50ms);
      t->async_wait(
          [t, reply](const boost::system::error_code&) { reply(text_response(200, "late")); });
    });
    router_.add("GET", "/never", [this](Request&, const Reply& reply) { parked_ = reply; });
    loop_.run([&] {
      server_ = std::make_unique<Server>(
          loop_.io(), o, [this](Request& req, Reply reply) { router_.dispatch(req, reply); });
      server_->set_observer([this](const Request& req, const Response& res, auto) {
        observed_.push_back(req.method + " " + req.route + " " + std::to_string(res.status));
      });
      server_->start();
      port_ = server_->local_endpoint().port();
      return 0;
    });
    base_ = "http://127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    loop_.run([&] {
      server_.reset();
      parked_ = nullptr;
      return 0;
    });
  }
  ServerCounters counters() {
    return loop_.run([&] { return server_->counters(); });
  }
  // Sends `bytes`; the server must hang up within a few seconds, say nothing and count one
  // timeout.
  void expect_hang_up_without_reply(const std::string& bytes) {
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(raw_exchange(port_, bytes, 10s), "");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(counters().timeouts, 1u);
  }

  LoopThread loop_;
  Router router_;
  std::unique_ptr<Server> server_;
  Reply parked_;
  std::vector<std::string> observed_;
  uint16_t port_ = 0;
  std::string base_;
};

}  // namespace

TEST_F(ServerTest, AnswersJsonWithKongHeaders) {
  start();
  auto r = get(base_, "/hello?who=kong");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 200u);
  EXPECT_EQ(r.response.body, "{\"hello\":\"kong\"}\n");
  EXPECT_EQ(r.response.headers["content-type"], "application/json; charset=utf-8");
  EXPECT_EQ(r.response.headers["server"], "kong-cluster");
  auto e = send(base_, "POST", "/echo", "text/plain", "payload");
  EXPECT_EQ(e.response.body, "payload");
  auto obs = loop_.run([&] { return observed_; });
  ASSERT_EQ(obs.size(), 2u);
  EXPECT_EQ(obs[0], "GET /hello 200");
}

TEST_F(ServerTest, PipelinedKeepAliveRequestsAnsweredInOrder) {
  start();
  auto out = raw_exchange(port_,
                          "GET /hello?who=a HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /hello?who=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto a = out.find("\"a\""), late = out.find("late"), b = out.find("\"b\"");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(late, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  EXPECT_LT(a, late);
  EXPECT_LT(late, b);
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  ServerOptions o;
  o.header_limit = 1024;
  start(o);
  auto out =
      raw_exchange(port_, "GET /hello HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out;
  EXPECT_EQ(counters().bad_requests, 1u);
}

TEST_F(ServerTest, OversizedBodyGets413) {
  ServerOptions o;
  o.body_limit = 100;
  start(o);
  auto r = send(base_, "POST", "/echo", "text/plain", std::string(1000, 'x'));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 413u);
  // Still serving.
  EXPECT_EQ(get(base_, "/hello").response.status, 200u);
}

TEST_F(ServerTest, MalformedRequestsGet4xxAndServerStaysUp) {
  start();
  EXPECT_EQ(raw_exchange(port_, "this is not http\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(
      raw_exchange(port_, "GET /hello%zz HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 400", 0),
      0u);
  EXPECT_EQ(
      raw_exchange(port_, "GET /hello?x=%G HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 400", 0),
      0u);
  EXPECT_EQ(raw_exchange(port_, "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n")
                .rfind("HTTP/1.1 400", 0),
            0u);
  EXPECT_EQ(raw_exchange(port_, "GET /hello HTTP/9.9\r\n\r\n").rfind("HTTP/1.1", 0), 0u);
  EXPECT_EQ(raw_exchange(port_, std::string("\0\1\2\3\xff\r\n\r\n", 9)).rfind("HTTP/1.1 400", 0),
            0u);
  EXPECT_EQ(get(base_, "/hello").response.status, 200u);
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
  start();
  auto out = raw_exchange(port_,
                          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", 0), 0u) << out;
  EXPECT_NE(out.find("hello"), std::string::npos);
}

TEST_F(ServerTest, HandlerThatNeverAnswersGets503) {
  ServerOptions o;
  o.handler_timeout = 200ms;
  start(o);
  auto r = get(base_, "/never");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.response.status, 503u);
  // A reply after the cut-off is ignored.
  loop_.run([&] {
    if (parked_) parked_(text_response(200, "too late"));
    return 0;
  });
  EXPECT_EQ(counters().timeouts, 1u);
  EXPECT_EQ(get(base_, "/hello").response.status, 200u);
}

TEST_F(ServerTest, SlowHeaderIsCutOffByRequestHeaderTimeout) {
  ServerOptions o;
  o.request_header_timeout = 300ms;
  start(o);
  expect_hang_up_without_reply("GET /hello HTTP/1.1\r\nHost:");
}

TEST_F(ServerTest, SlowBodyIsCutOffByReadTimeout) {
  ServerOptions o;
  o.read_timeout = 300ms;
  start(o);
  expect_hang_up_without_reply("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
}

TEST_F(ServerTest, SilentConnectionIsClosedAfterRequestHeaderTimeout) {
  ServerOptions o;
  o.request_header_timeout = 300ms;
  start(o);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket idle(io);
  idle.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  ASSERT_TRUE(wait_until([&] { return loop_.run([&] { return server_->connections(); }) == 1; }));
  ASSERT_TRUE(
      wait_until([&] { return loop_.run([&] { return server_->connections(); }) == 0; }, 5s));
  EXPECT_EQ(counters().timeouts, 1u);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterRequestHeaderTimeout) {
  ServerOptions o;
  o.request_header_timeout = 300ms;
  start(o);
  auto started = std::chrono::steady_clock::now();
  // One complete request, then nothing: the answer comes, then the server hangs up.
  auto out = raw_exchange(port_, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 10s);
  EXPECT_NE(out.find("200 OK"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(ServerTest, AtTheCapTheOldestIdleConnectionIsShed) {
  ServerOptions o;
  o.max_connections = 3;
  start(o);
  boost::asio::io_context io;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> idle;
  auto open_idle = [&] {
    idle.push_back(std::make_unique<boost::asio::ip::tcp::socket>(io));
    idle.back()->connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    ASSERT_TRUE(wait_until([&] { return loop_.run([&] { return server_->connections(); }) == 3; }));
  };
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<boost::asio::ip::tcp::socket>(io));
    idle.back()->connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    ASSERT_TRUE(wait_until(
        [&] { return loop_.run([&] { return server_->connections(); }) == size_t(i + 1); }));
  }
  // At the cap a real client still gets through: the longest-waiting idle one goes.
  EXPECT_EQ(get(base_, "/hello").response.status, 200u);
  EXPECT_EQ(counters().shed, 1u);
  // Full again with a newer idle connection: the next client sheds the next oldest.
  ASSERT_TRUE(wait_until([&] { return loop_.run([&] { return server_->connections(); }) == 2; }));
  open_idle();
  EXPECT_EQ(get(base_, "/hello").response.status, 200u);
  EXPECT_EQ(counters().shed, 2u);
  EXPECT_EQ(counters().rejected, 0u);
  // idle[0] and idle[1] were closed (a read sees EOF); idle[2] and idle[3] are still open.
  for (size_t i = 0; i < idle.size(); ++i) {
    idle[i]->non_blocking(true);
    std::array<char, 1> b;
    boost::system::error_code ec;
    bool closed = false;
    bool expect_closed = i < 2;
    wait_until(
        [&] {
          idle[i]->read_some(boost::asio::buffer(b), ec);
          closed = ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
          return closed || !expect_closed;
        },
        2s);
    EXPECT_EQ(closed, expect_closed) << i;
  }
}

TEST_F(ServerTest, AtTheCapBusyConnectionsAreNotShed) {
  ServerOptions o;
  o.max_connections = 1;
  start(o);
  std::thread busy([&] { get(base_, "/never"); });
  ASSERT_TRUE(wait_until([&] { return loop_.run([&] { return bool(parked_); }); }));
  auto r = get(base_, "/hello");
  EXPECT_NE(r.error, "");
  EXPECT_EQ(counters().rejected, 1u);
  EXPECT_EQ(counters().shed, 0u);
  loop_.run([&] {
    parked_(text_response(200, "done"));
    return 0;
  });
  busy.join();
}

TEST_F(ServerTest, StopWithPendingReplyClosesCleanly) {
  start();
  std::atomic<bool> done{false};
  std::thread client([&] {
    auto r = get(base_, "/never");
    EXPECT_NE(r.error, "");
    done = true;
  });
  ASSERT_TRUE(wait_until([&] { return loop_.run([&] { return bool(parked_); }); }));
  loop_.run([&] {
    server_->stop();
    parked_(text_response(200, "after stop"));  // must be a no-op
    return 0;
  });
  client.join();
  EXPECT_TRUE(done);
}

TEST_F(ServerTest, PortInUseIsAClearError) {
  start();
  ServerOptions o;
  o.bind = "127.0.0.1:" + std::to_string(port_);
  boost::asio::io_context io;
  Server second(io, o, [](Request&, Reply) {});
  try {
    second.start();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(o.bind), std::string::npos) << e.what();
  }
  ServerOptions bad;
  bad.bind = "not-an-ip:80";
  Server third(io, bad, [](Request&, Reply) {});
  EXPECT_THROW(third.start(), std::runtime_error);
}

// PgClient against a scripted fake server on loopback: whatever the server sends, the client
// drops the connection with a one-line error (and counts it), and never crashes or hangs.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <vector>

#include "ds_test_util.h"

using namespace kc::datastore;
using namespace std::string_literals;
using kc::test::run_sql;
using kc::test::run_until;
namespace asio = boost::asio;

namespace {

std::string frame(char type, const std::string& body) {
  auto n = static_cast<uint32_t>(body.size() + 4);
  return std::string(1, type) + char(n >> 24) + char((n >> 16) & 0xff) + char((n >> 8) & 0xff) +
         char(n & 0xff) + body;
}
std::string auth(char code) {
  return frame('R', "\0\0\0"s + code);
}
const std::string kStartupDone = auth(0) + frame('Z', "I");
const std::string kSync = frame('S', "");

// Answers the client's n-th round (0: the startup message, then each Sync) with replies[n],
// and keeps the connection open afterwards. Accepts one connection at a time.
class ScriptedServer {
 public:
  ScriptedServer(asio::io_context& io, std::vector<std::string> replies)
      : io_(io),
        acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}),
        replies_(std::move(replies)) {
    accept();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }

 private:
  struct Session {
    explicit Session(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    std::string received;
    size_t answered = 0;
    char buffer[4096];
  };
  void accept() {
    auto s = std::make_shared<Session>(io_);
    acceptor_.async_accept(s->socket, [this, s](boost::system::error_code ec) {
      if (ec) return;
      ++connections_;
      session_ = s;
      read(s);
      accept();
    });
  }
  void read(std::shared_ptr<Session> s) {
    s->socket.async_read_some(
        asio::buffer(s->buffer), [this, s](boost::system::error_code ec, size_t n) {
          if (ec) return;
          s->received.append(s->buffer, n);
          size_t rounds = s->received.size() >= 8 ? 1 : 0;
          for (size_t at = 0; (at = s->received.find(kSync, at)) != std::string::npos; at += 5)
            ++rounds;
          std::string out;
          while (s->answered < rounds && s->answered < replies_.size())
            out += replies_[s->answered++];
          if (!out.empty()) asio::write(s->socket, asio::buffer(out));
          read(s);
        });
  }
  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::string> replies_;
  std::shared_ptr<Session> session_;
  int connections_ = 0;
};

class HostileServerTest : public ::testing::Test {
 protected:
  PgConfig config_for(const ScriptedServer& server) {
    PgConfig c;
    c.host = "127.0.0.1";
    c.port = server.port();
    c.password = "pw";
    return c;
  }
  // The first job's error, from a client connecting to a server that answers with `replies`.
  PgError connect_error(std::vector<std::string> replies, PgClient** out = nullptr) {
    server_ = std::make_unique<ScriptedServer>(io_, std::move(replies));
    client_ = std::make_unique<PgClient>(io_, config_for(*server_), kc::test::fast_client());
    if (out) *out = client_.get();
    auto r = run_sql(io_, *client_, {"SELECT 1", {}});
    EXPECT_FALSE(r.ok());
    return r.error.value_or(PgError{});
  }
  asio::io_context io_;
  std::unique_ptr<ScriptedServer> server_;
  std::unique_ptr<PgClient> client_;
};

TEST_F(HostileServerTest, UnsupportedAuthenticationIsNamedAndCounted) {
  auto e = connect_error({auth(7)});
  EXPECT_EQ(e.kind, PgError::Kind::connect);
  EXPECT_EQ(e.sqlstate, "28000");
  EXPECT_NE(e.message.find("GSSAPI"), std::string::npos) << e.message;
  EXPECT_EQ(client_->metrics().protocol_errors, 1u);
  EXPECT_EQ(client_->last_error(), e.message);
}

TEST_F(HostileServerTest, OversizedMessageIsRefusedFromItsHeader) {
  auto e = connect_error({"R\x7f\xff\xff\xff"s});
  EXPECT_EQ(e.sqlstate, "08P01");
  EXPECT_NE(e.message.find("exceeds the limit"), std::string::npos) << e.message;
  EXPECT_EQ(client_->metrics().protocol_errors, 1u);
}

TEST_F(HostileServerTest, GarbageIsAProtocolError) {
  auto e = connect_error({"HTTP/1.1 400 Bad Request\r\n\r\n"});
  EXPECT_EQ(e.sqlstate, "08P01");
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
  EXPECT_EQ(client_->metrics().protocol_errors, 1u);
}

TEST_F(HostileServerTest, SilentServerHitsTheConnectTimeout) {
  server_ = std::make_unique<ScriptedServer>(io_, std::vector<std::string>{});
  auto options = kc::test::fast_client();
  options.connect_timeout = std::chrono::milliseconds(300);
  PgClient client(io_, config_for(*server_), options);
  auto r = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error->message.find("connect timed out after 300 ms"), std::string::npos)
      << r.error->message;
  EXPECT_EQ(server_->connections(), 1) << "the timeout must cover the protocol's startup";
}

TEST_F(HostileServerTest, MalformedRowOnAnEstablishedConnection) {
  server_ = std::make_unique<ScriptedServer>(
      io_,
      std::vector<std::string>{kStartupDone, frame('1', "") + frame('2', "") +
                                                 frame('D', "\0\1\0\0\0\1x"s) + frame('Z', "I")});
  PgClient client(io_, config_for(*server_), kc::test::fast_client());
  std::vector<bool> events;
  client.subscribe([&](bool up) { events.push_back(up); });
  auto r = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, PgError::Kind::lost);
  EXPECT_EQ(r.error->sqlstate, "08P01");
  EXPECT_NE(r.error->message.find("DataRow before RowDescription"), std::string::npos)
      << r.error->message;
  EXPECT_EQ(client.metrics().protocol_errors, 1u);
  EXPECT_EQ(client.metrics().disconnects, 1u);
  ASSERT_TRUE(run_until(io_, [&] { return events == std::vector<bool>{true, false}; }));
  // It reconnects (the server accepts again) and the next statement would be tried anew.
  ASSERT_TRUE(run_until(io_, [&] { return server_->connections() >= 2; }));
}

TEST_F(HostileServerTest, SilentServerMidStatementHitsTheQueryTimeout) {
  server_ = std::make_unique<ScriptedServer>(io_, std::vector<std::string>{kStartupDone});
  auto options = kc::test::fast_client();
  options.query_timeout = std::chrono::milliseconds(300);
  PgClient client(io_, config_for(*server_), options);
  auto r = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, PgError::Kind::timeout);  // the server never answers the statement
  EXPECT_EQ(r.error->sqlstate, "57014");
}

}  // namespace

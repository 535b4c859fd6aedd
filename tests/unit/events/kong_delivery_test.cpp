// Delivery to a fake Kong Admin API (our HTTP server on the same loop): the bodies Kong's
// serf_event.sh posted, order, retry with backoff on 5xx and refused connections, no retry
// on 4xx, the attempt cap and the queue bound.
#include "agent/events/kong_delivery.h"

#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "common/http/server.h"
#include "events_test_util.h"
#include "support/process.h"

using namespace kc;
using namespace kc::events;
using namespace std::chrono_literals;

namespace {

class FakeKong {
 public:
  explicit FakeKong(boost::asio::io_context& io) {
    http::ServerOptions o;
    o.bind = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(io, o, [this](http::Request& req, http::Reply reply) {
      received.push_back(req);
      unsigned status = 200;
      if (!statuses.empty()) {
        status = statuses.front();
        statuses.pop_front();
      }
      reply(http::empty_response(status));
    });
    server_->start();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->local_endpoint().port());
  }
  std::vector<http::Request> received;
  std::deque<unsigned> statuses;

 private:
  std::unique_ptr<http::Server> server_;
};

KongDeliveryOptions fast(const std::string& url) {
  KongDeliveryOptions o;
  o.url = *http::Url::parse(url);
  o.initial_backoff = 10ms;
  o.max_backoff = 40ms;
  o.timeout = 2000ms;
  return o;
}

}  // namespace

TEST(KongDelivery, BodiesAreWhatKongsHandlerSent) {
  serf::MemberEvent join{serf::EventType::MemberJoin,
                         {test::make_member("n1", {10, 0, 0, 2}, 7946, {{"role", "kong"}}),
                          test::make_member("n2", {10, 0, 0, 3}, 7946)}};
  auto body = KongDelivery::body_for(join, "kong");
  ASSERT_TRUE(body);
  EXPECT_EQ(*body,
            "{\"type\":\"member-join\",\"entity\":\"n1\\t10.0.0.2\\tkong\\trole=kong\\nn2\\t10.0.0."
            "3\\t\\t\"}");
  auto user = KongDelivery::body_for(
      test::user_event("kong", "{\"collection\":\"apis\",\"type\":\"ENTITY_DELETED\"}\n"), "kong");
  EXPECT_EQ(user, "{\"collection\":\"apis\",\"type\":\"ENTITY_DELETED\"}");
  EXPECT_FALSE(KongDelivery::body_for(test::user_event("deploy", "x"), "kong"));
  auto q = std::make_shared<serf::Query>(std::weak_ptr<serf::QueryResponder>());
  EXPECT_FALSE(KongDelivery::body_for(q, "kong"));
}

TEST(KongDelivery, InvalidUtf8FromTheNetworkIsReplacedNotThrown) {
  // Member names and tags arrive from any gossip peer; JSON needs valid UTF-8.
  serf::MemberEvent join{serf::EventType::MemberJoin,
                         {test::make_member("bad\xff", {10, 0, 0, 2}, 7946, {{"r", "\xfe"}})}};
  auto body = KongDelivery::body_for(join, "kong");
  ASSERT_TRUE(body);
  EXPECT_NE(body->find("bad\xef\xbf\xbd"), std::string::npos) << *body;  // U+FFFD
}

TEST(KongDelivery, PostsInOrderToClusterEvents) {
  boost::asio::io_context io;
  FakeKong kong(io);
  KongDelivery d(io, fast(kong.url() + "/admin/"));
  d.offer(
      serf::MemberEvent{serf::EventType::MemberLeave, {test::make_member("n1", {10, 0, 0, 2}, 1)}});
  for (int i = 0; i < 5; ++i)
    d.offer(test::user_event("kong", "{\"n\":" + std::to_string(i) + "}"));
  d.offer(test::user_event("not-kong", "x"));
  ASSERT_TRUE(test::run_until(io, [&] { return d.stats().delivered == 6; }));
  ASSERT_EQ(kong.received.size(), 6u);
  for (auto& r : kong.received) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/admin/cluster/events/");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_TRUE(nlohmann::json::accept(r.body)) << r.body;
  }
  EXPECT_EQ(nlohmann::json::parse(kong.received[0].body)["type"], "member-leave");
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(kong.received[i + 1].body, "{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(d.stats().queued, 0u);
}

TEST(KongDelivery, RetriesServerErrorsButNotRejections) {
  boost::asio::io_context io;
  FakeKong kong(io);
  kong.statuses = {503, 500, 200, 400, 200};
  KongDelivery d(io, fast(kong.url()));
  d.offer(test::user_event("kong", "{\"a\":1}"));
  d.offer(test::user_event("kong", "{\"b\":2}"));
  d.offer(test::user_event("kong", "{\"c\":3}"));
  ASSERT_TRUE(test::run_until(io, [&] { return d.stats().delivered + d.stats().rejected == 3; }));
  EXPECT_EQ(d.stats().delivered, 2u);
  EXPECT_EQ(d.stats().rejected, 1u);
  EXPECT_EQ(d.stats().retries, 2u);
  EXPECT_EQ(d.stats().attempts, 5u);
  std::vector<std::string> bodies;
  for (auto& r : kong.received) bodies.push_back(r.body);
  EXPECT_EQ(bodies, (std::vector<std::string>{"{\"a\":1}", "{\"a\":1}", "{\"a\":1}", "{\"b\":2}",
                                              "{\"c\":3}"}));
}

TEST(KongDelivery, UnreachableKongIsRetriedThenDropped) {
  boost::asio::io_context io;
  auto o = fast("http://127.0.0.1:" + std::to_string(test::free_port()));
  o.max_attempts = 3;
  KongDelivery d(io, o);
  d.offer(test::user_event("kong", "{}"));
  ASSERT_TRUE(test::run_until(io, [&] { return d.stats().dropped == 1; }));
  EXPECT_EQ(d.stats().attempts, 3u);
  EXPECT_EQ(d.stats().delivered, 0u);
}

TEST(KongDelivery, QueueIsBounded) {
  boost::asio::io_context io;
  auto o = fast("http://127.0.0.1:" + std::to_string(test::free_port()));
  o.queue_limit = 3;
  o.max_attempts = 1000;
  KongDelivery d(io, o);
  for (int i = 0; i < 10; ++i) d.offer(test::user_event("kong", "{}"));
  EXPECT_EQ(d.stats().queued, 3u);
  EXPECT_EQ(d.stats().dropped, 7u);
  d.stop();
  EXPECT_EQ(d.stats().queued, 0u);
  EXPECT_EQ(d.stats().dropped, 10u);
}

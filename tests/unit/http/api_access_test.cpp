// The pieces of the HTTP API's access check: Host headers that name this machine, loopback
// listeners, and the check itself for each kind of caller.
#include "agent/http/api_access.h"

#include <gtest/gtest.h>

using namespace kc;
using namespace kc::agent_http;

TEST(ApiAccess, HostLiteralOrLocalhost) {
  for (const char* ok : {"127.0.0.1", "127.0.0.1:8946", "10.1.0.4:80", "localhost",
                         "LOCALHOST:8946", "[::1]", "[::1]:8946", "[fe80::1]:1"})
    EXPECT_TRUE(host_is_literal_or_localhost(ok)) << ok;
  for (const char* bad : {"", "evil.example", "evil.example:8946", "localhost.evil.example",
                          "127.0.0.1.nip.io", "[::1", "[::1]x", "127.0.0.1:80x", "[zz::]:1"})
    EXPECT_FALSE(host_is_literal_or_localhost(bad)) << bad;
}

TEST(ApiAccess, LoopbackListener) {
  EXPECT_TRUE(is_loopback_listener("127.0.0.1:8946"));
  EXPECT_TRUE(is_loopback_listener("127.3.2.1:0"));
  EXPECT_TRUE(is_loopback_listener("[::1]:8946"));
  EXPECT_FALSE(is_loopback_listener("0.0.0.0:8946"));
  EXPECT_FALSE(is_loopback_listener("[::]:8946"));
  EXPECT_FALSE(is_loopback_listener("10.0.0.1:8946"));
  EXPECT_FALSE(is_loopback_listener("nonsense"));
}

TEST(ApiAccess, Decisions) {
  http::Request req;
  req.headers["host"] = "10.0.0.1:8946";
  ApiAccess token{"s3cret", false};
  EXPECT_EQ(check_api_access(req, token)->status, 401u);
  req.headers["authorization"] = "Bearer s3cret";
  EXPECT_FALSE(check_api_access(req, token).has_value());
  // With a token, any Host is fine: the token is what a rebinding page lacks.
  req.headers["host"] = "whatever.example";
  EXPECT_FALSE(check_api_access(req, token).has_value());
  req.headers["origin"] = "http://whatever.example";
  EXPECT_EQ(check_api_access(req, token)->status, 403u);

  http::Request plain;
  plain.headers["host"] = "127.0.0.1:8946";
  EXPECT_EQ(check_api_access(plain, ApiAccess{"", false})->status, 403u);
  EXPECT_FALSE(check_api_access(plain, ApiAccess{"", true}).has_value());
  // Without a token configured, a presented one changes nothing.
  plain.headers["authorization"] = "Bearer anything";
  EXPECT_EQ(check_api_access(plain, ApiAccess{"", false})->status, 403u);
}

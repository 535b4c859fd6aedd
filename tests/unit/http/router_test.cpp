// Routing: literal and ":param" segments, optional trailing slash, 404 vs 405, a throwing
// handler turned into Kong's 500.
#include "common/http/router.h"

#include <gtest/gtest.h>

using namespace kc::http;

namespace {

Response call(const Router& r, const std::string& method, const std::string& path,
              Request* seen = nullptr) {
  Request req;
  req.method = method;
  req.path = path;
  Response out;
  out.status = 0;
  r.dispatch(req, [&](Response res) { out = std::move(res); });
  if (seen) *seen = req;
  return out;
}

}  // namespace

TEST(Router, MatchesMethodsAndParams) {
  Router r;
  r.add("GET", "/cluster", [](Request&, const Reply& reply) { reply(text_response(200, "list")); });
  r.add("DELETE", "/cluster/nodes/:name", [](Request& req, const Reply& reply) {
    reply(text_response(200, "bye " + req.params.at("name")));
  });
  EXPECT_EQ(call(r, "GET", "/cluster").body, "list");
  EXPECT_EQ(call(r, "GET", "/cluster/").body, "list");
  Request seen;
  auto res = call(r, "DELETE", "/cluster/nodes/n1", &seen);
  EXPECT_EQ(res.body, "bye n1");
  EXPECT_EQ(seen.route, "/cluster/nodes/:name");

  res = call(r, "POST", "/cluster/nodes/n1", &seen);
  EXPECT_EQ(res.status, 405u);
  EXPECT_EQ(res.body, "{\"message\":\"Method not allowed\"}\n");
  EXPECT_EQ(seen.route, "/cluster/nodes/:name");
  res = call(r, "GET", "/cluster/nodes", &seen);
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.body, "{\"message\":\"Not found\"}\n");
  EXPECT_EQ(seen.route, "");
  EXPECT_EQ(call(r, "GET", "/").status, 404u);
}

TEST(Router, ThrowingHandlerGives500) {
  Router r;
  r.add("GET", "/boom", [](Request&, const Reply&) { throw std::runtime_error("boom"); });
  auto res = call(r, "GET", "/boom");
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(res.body, "{\"message\":\"An unexpected error occurred\"}\n");
}

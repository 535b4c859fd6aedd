// Routing by method and path. Patterns are literal segments and ":name" parameters
// ("/cluster/nodes/:name"); a trailing slash is optional, as in Kong's Admin API. An unknown
// path gets `not_found`, a known path with another method `method_not_allowed`, and a
// handler that throws gets `internal_error`: the server never crashes on a request.
#pragma once

#include <string>
#include <vector>

#include "common/http/message.h"

namespace kc::http {

class Router {
 public:
  void add(std::string method, const std::string& pattern, Handler handler);

  // Matches `req` (setting req.params and req.route) and runs its handler.
  void dispatch(Request& req, const Reply& reply) const;

  // Replies for what no route answers; Kong's bodies by default.
  Response not_found = message_response(404, "Not found");
  Response method_not_allowed = message_response(405, "Method not allowed");
  Response internal_error = message_response(500, "An unexpected error occurred");

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static std::vector<std::string> split(const std::string& path);
  static bool match(const Route& r, const std::vector<std::string>& segs, Params& params);

  std::vector<Route> routes_;
};

}  // namespace kc::http

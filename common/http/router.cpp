#include "common/http/router.h"

#include "common/logging.h"

namespace kc::http {

std::vector<std::string> Router::split(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    auto slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

void Router::add(std::string method, const std::string& pattern, Handler handler) {
  Route r{std::move(method), pattern, split(pattern), std::move(handler)};
  routes_.push_back(std::move(r));
}

bool Router::match(const Route& r, const std::vector<std::string>& segs, Params& params) {
  if (r.segments.size() != segs.size()) return false;
  Params found;
  for (size_t i = 0; i < segs.size(); ++i) {
    const auto& want = r.segments[i];
    if (!want.empty() && want[0] == ':')
      found[want.substr(1)] = segs[i];
    else if (want != segs[i])
      return false;
  }
  params = std::move(found);
  return true;
}

void Router::dispatch(Request& req, const Reply& reply) const {
  // Empty segments are dropped, so "/cluster/" and "/cluster" (and "//cluster") match alike.
  auto segs = split(req.path);
  bool path_known = false;
  for (const auto& r : routes_) {
    Params params;
    if (!match(r, segs, params)) continue;
    if (!path_known) req.route = r.pattern;  // labels a 405 with the path it was for
    path_known = true;
    if (r.method != req.method) continue;
    req.params = std::move(params);
    req.route = r.pattern;
    try {
      r.handler(req, reply);
    } catch (const std::exception& e) {
      kc::log::get("http")->error("{} {}: handler failed: {}", req.method, req.path, e.what());
      reply(internal_error);
    }
    return;
  }
  reply(path_known ? method_not_allowed : not_found);
}

}  // namespace kc::http

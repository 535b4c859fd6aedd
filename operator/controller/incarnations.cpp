#include "operator/controller/incarnations.h"

#include <nlohmann/json.hpp>

#include "common/http/client.h"
#include "common/logging.h"

namespace kc::controller {

std::optional<std::map<std::string, uint64_t>> parse_incarnations(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("members") || !j["members"].is_array()) return std::nullopt;
  std::map<std::string, uint64_t> out;
  for (auto& m : j["members"]) {
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) continue;
    if (!m.contains("incarnation") || !m["incarnation"].is_number_unsigned()) continue;
    out[m["name"].get<std::string>()] = m["incarnation"].get<uint64_t>();
  }
  return out;
}

void fetch_incarnations(boost::asio::io_context& io, const std::string& addr,
                        const std::string& token,
                        std::function<void(std::optional<std::map<std::string, uint64_t>>)> done) {
  std::string error;
  auto url = http::Url::parse("http://" + addr, &error);
  if (!url) {
    kc::log::get("controller")->debug("incarnations from {}: {}", addr, error);
    return done(std::nullopt);
  }
  http::ClientRequest req;
  req.target = "/v1/members";
  if (!token.empty()) req.headers["Authorization"] = "Bearer " + token;
  req.timeout = std::chrono::seconds(2);
  http::async_request(
      io, *url, req,
      [addr, done = std::move(done)](const std::string& error, const http::ClientResponse& r) {
        std::optional<std::map<std::string, uint64_t>> out;
        if (error.empty() && r.status == 200) out = parse_incarnations(r.body);
        if (!out)
          kc::log::get("controller")
              ->debug("incarnations from {}: {}", addr,
                      error.empty() ? "status " + std::to_string(r.status) : error);
        done(std::move(out));
      });
}

}  // namespace kc::controller

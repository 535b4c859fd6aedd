// The Kubernetes REST client on cpprestsdk (the operator's HTTP client, with TLS from the
// service-account CA and a bearer token).
//
// Threading: cpprestsdk completes requests on its own thread pool. Nothing here touches the
// caller's state there: every completion (responses, watch events, the end of a watch) is
// posted to the process's io_context, so controller state lives on the one event loop as
// everywhere else in the project. A handler never runs after its RestClient or Watch is gone.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/lifetime.h"
#include "kube/config.h"
#include "kube/response.h"

namespace kc::kube {

using ResponseHandler = std::function<void(Response)>;

struct RestOptions {
  std::chrono::seconds request_timeout{30};
  // Watches last up to timeoutSeconds (at most 10 minutes); the client gives up a bit later.
  std::chrono::seconds watch_timeout{660};
  std::string user_agent = "kong-cluster-operator/0.1";
};

struct RestCounters {
  uint64_t requests = 0;
  uint64_t errors = 0;  // transport errors and 5xx
};

class Watch;

class RestClient {
 public:
  RestClient(boost::asio::io_context& io, Config config, RestOptions options = {});
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // One request. `path` includes the query ("/api/v1/pods?labelSelector=a%3Db"). The handler
  // runs later on the io_context.
  void request(const std::string& method, const std::string& path,
               const std::optional<nlohmann::json>& body, ResponseHandler done,
               const std::string& content_type = "application/json");
  void get(const std::string& path, ResponseHandler done) {
    request("GET", path, std::nullopt, std::move(done));
  }

  // A watch stream: `on_event` gets each {"type","object"} line, `on_end` once when the stream
  // ends (status 200 and empty error for a clean end), both on the io_context. Destroying the
  // Watch (or stop()) cancels it; no handler runs after that.
  std::unique_ptr<Watch> watch(const std::string& path,
                               std::function<void(nlohmann::json)> on_event,
                               std::function<void(Response)> on_end);

  const Config& config() const { return config_; }
  const RestCounters& counters() const { return counters_; }
  boost::asio::io_context& io() { return io_; }

 private:
  struct Impl;
  boost::asio::io_context& io_;
  Config config_;
  RestOptions options_;
  RestCounters counters_;
  std::unique_ptr<Impl> impl_;
  LifetimeToken lifetime_;
};

class Watch {
 public:
  struct State;
  explicit Watch(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~Watch() { stop(); }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  // Cancels the stream; call on the io_context.
  void stop();

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kc::kube

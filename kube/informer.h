// A list+watch informer, as client-go's reflector and store: list (paged) to fill the local
// cache, then watch from the list's resourceVersion with bookmarks; a clean end of the
// stream resumes from the last resourceVersion seen (events or bookmarks); a 410 Expired
// (in the stream or as the answer) relists; errors reconnect after an exponential backoff
// with jitter. After a relist the cache is replaced and the differences are delivered as
// events, so a deletion that happened while disconnected is still seen. The cache is the
// only view of the kind the controller reads. Everything runs on the io_context.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/backoff.h"
#include "common/lifetime.h"
#include "kube/rest_client.h"

namespace spdlog {
class logger;
}

namespace kc::kube {

enum class EventType { Added, Modified, Deleted };
const char* to_string(EventType t);

struct InformerOptions {
  std::string path;  // collection path, e.g. pods_path("kong")
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
  std::chrono::milliseconds backoff_initial{200};
  // Low, unlike client-go's 30 s: after an apiserver outage (a restart, an upgrade) the watch
  // must be back within seconds, since a deletion it misses is a member the operator does not
  // prune (tests/k8s/e2e: a restart left pods unpruned for 35 s). A failed connect is cheap.
  std::chrono::milliseconds backoff_max{4000};
  // The server ends each watch after a random 5-10 minutes (client-go's range), spreading
  // reconnects of many clients.
  int watch_timeout_min_s = 300;
  int watch_timeout_max_s = 600;
};

struct InformerCounters {
  uint64_t lists = 0;           // full lists (the first and every relist)
  uint64_t watch_restarts = 0;  // watches started after the first one
  uint64_t expired = 0;         // 410s that forced a relist
  uint64_t events = 0;          // ADDED/MODIFIED/DELETED applied
  uint64_t bookmarks = 0;
  uint64_t errors = 0;  // failed lists or watches (then backoff)
};

class Informer {
 public:
  // `obj` is the new state (the last state for Deleted); `old` the cached one before, or null.
  using Handler =
      std::function<void(EventType type, const nlohmann::json& obj, const nlohmann::json* old)>;

  Informer(RestClient& client, InformerOptions options, std::string name);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void set_handler(Handler h) { handler_ = std::move(h); }
  // Called after every completed list (the first one marks the cache as synced).
  void set_on_list(std::function<void()> f) { on_list_ = std::move(f); }

  void start();
  void stop();

  bool synced() const { return synced_; }
  const std::map<std::string, nlohmann::json>& items() const { return cache_; }
  const nlohmann::json* get(const std::string& key) const;
  const std::string& last_resource_version() const { return rv_; }
  const InformerCounters& counters() const { return counters_; }
  const std::string& name() const { return name_; }
  bool watching() const { return watch_ != nullptr; }

 private:
  void list_page(const std::string& continue_token,
                 const std::shared_ptr<std::map<std::string, nlohmann::json>>& acc);
  void replace(std::map<std::string, nlohmann::json> fresh, const std::string& rv);
  void start_watch();
  void on_event(const nlohmann::json& ev);
  void on_watch_end(const Response& r);
  // After a backoff (at least the server's Retry-After, for 429/503), lists or watches again.
  void retry(bool relist, const Response* r = nullptr);
  std::string selectors() const;

  RestClient& client_;
  InformerOptions options_;
  std::string name_;
  Handler handler_;
  std::function<void()> on_list_;
  std::map<std::string, nlohmann::json> cache_;
  std::string rv_;
  bool synced_ = false;
  bool running_ = false;
  bool watch_got_data_ = false;
  uint64_t watches_started_ = 0;
  std::unique_ptr<Watch> watch_;
  boost::asio::steady_timer retry_timer_;
  Backoff backoff_;
  InformerCounters counters_;
  std::shared_ptr<spdlog::logger> log_;
  LifetimeToken lifetime_;
};

}  // namespace kc::kube

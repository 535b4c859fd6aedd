#include "kube/informer.h"

#include <cstdlib>
#include <random>

#include "common/enum_names.h"
#include "common/http/message.h"
#include "common/logging.h"
#include "common/noexcept_cleanup.h"
#include "kube/resources.h"

namespace kc::kube {

const char* to_string(EventType t) {
  static constexpr std::array<const char*, 3> kNames{"ADDED", "MODIFIED", "DELETED"};
  static_assert(names_every_value(kNames, EventType::Deleted));
  return enum_name(t, kNames, "?");
}

Informer::Informer(RestClient& client, InformerOptions options, std::string name)
    : client_(client),
      options_(std::move(options)),
      name_(std::move(name)),
      retry_timer_(client.io()),
      backoff_(options_.backoff_initial, options_.backoff_max),
      log_(kc::log::get("informer")) {}

Informer::~Informer() {
  noexcept_cleanup([this] { stop(); });
}

const nlohmann::json* Informer::get(const std::string& key) const {
  auto it = cache_.find(key);
  return it == cache_.end() ? nullptr : &it->second;
}

std::string Informer::selectors() const {
  std::string q;
  if (!options_.label_selector.empty())
    q += "&labelSelector=" + http::url_encode(options_.label_selector);
  if (!options_.field_selector.empty())
    q += "&fieldSelector=" + http::url_encode(options_.field_selector);
  return q;
}

void Informer::start() {
  if (running_) return;
  running_ = true;
  list_page("", std::make_shared<std::map<std::string, nlohmann::json>>());
}

void Informer::stop() {
  running_ = false;
  watch_.reset();
  retry_timer_.cancel();
}

void Informer::list_page(const std::string& continue_token,
                         const std::shared_ptr<std::map<std::string, nlohmann::json>>& acc) {
  std::string path = options_.path + "?limit=" + std::to_string(options_.page_size) + selectors();
  if (!continue_token.empty()) path += "&continue=" + http::url_encode(continue_token);
  client_.get(path, lifetime_.wrap([this, acc, paged = !continue_token.empty()](const Response& r) {
    if (!running_) return;
    if (r.gone() && paged) {
      // The snapshot the pages came from was compacted: start the list again, as client-go's
      // pager falls back to a full list.
      ++counters_.expired;
      list_page("", std::make_shared<std::map<std::string, nlohmann::json>>());
      return;
    }
    if (!r.ok() || !r.body.is_object()) {
      ++counters_.errors;
      log_->warn("{}: list failed: {}", name_, r.describe());
      retry(true, &r);
      return;
    }
    for (auto& item : r.body.value("items", nlohmann::json::array())) {
      (*acc)[object_key(item)] = item;
    }
    const auto& md = r.body.value("metadata", nlohmann::json::object());
    std::string next = md.value("continue", "");
    if (!next.empty()) {
      list_page(next, acc);
      return;
    }
    ++counters_.lists;
    backoff_.reset();
    replace(std::move(*acc), md.value("resourceVersion", ""));
    start_watch();
  }));
}

void Informer::replace(std::map<std::string, nlohmann::json> fresh, const std::string& rv) {
  auto old = std::move(cache_);
  cache_ = std::move(fresh);
  rv_ = rv;
  synced_ = true;
  log_->debug("{}: listed {} objects at resourceVersion {}", name_, cache_.size(), rv_);
  if (handler_) {
    // Deliver what changed while we were not watching: objects gone from the new list are
    // deletions (client-go's DeletedFinalStateUnknown), new ones additions.
    for (auto& [key, obj] : old) {
      if (!cache_.contains(key)) handler_(EventType::Deleted, obj, &obj);
    }
    for (auto& [key, obj] : cache_) {
      auto it = old.find(key);
      if (it == old.end()) {
        handler_(EventType::Added, obj, nullptr);
      } else if (resource_version(it->second) != resource_version(obj)) {
        handler_(EventType::Modified, obj, &it->second);
      }
    }
  }
  if (on_list_) on_list_();
}

void Informer::start_watch() {
  if (!running_) return;
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> timeout(options_.watch_timeout_min_s,
                                             options_.watch_timeout_max_s - 1);
  std::string path = options_.path + "?watch=true&allowWatchBookmarks=true&resourceVersion=" +
                     http::url_encode(rv_) + "&timeoutSeconds=" + std::to_string(timeout(rng)) +
                     selectors();
  if (watches_started_++ > 0) ++counters_.watch_restarts;
  watch_got_data_ = false;
  watch_ = client_.watch(path, lifetime_.wrap([this](const nlohmann::json& ev) { on_event(ev); }),
                         lifetime_.wrap([this](const Response& r) { on_watch_end(r); }));
}

void Informer::on_event(const nlohmann::json& ev) {
  std::string type = ev.value("type", "");
  const nlohmann::json& obj = ev.contains("object") ? ev["object"] : nlohmann::json();
  if (type == "ERROR") {
    int code = obj.is_object() ? obj.value("code", 0) : 0;
    watch_.reset();
    if (code == 410) {
      // Our resourceVersion is older than the server's history: only a relist catches up.
      ++counters_.expired;
      log_->info("{}: watch expired ({}), relisting", name_, obj.value("message", ""));
      list_page("", std::make_shared<std::map<std::string, nlohmann::json>>());
    } else {
      ++counters_.errors;
      log_->warn("{}: watch error {}: {}", name_, code,
                 obj.is_object() ? obj.value("message", "") : "");
      retry(false);
    }
    return;
  }
  watch_got_data_ = true;
  std::string rv = resource_version(obj);
  if (type == "BOOKMARK") {
    ++counters_.bookmarks;
    if (!rv.empty()) rv_ = rv;
    return;
  }
  if (!obj.is_object()) return;
  std::string key = object_key(obj);
  ++counters_.events;
  if (!rv.empty()) rv_ = rv;
  if (type == "ADDED" || type == "MODIFIED") {
    auto it = cache_.find(key);
    nlohmann::json old;
    bool had = it != cache_.end();
    if (had) old = std::move(it->second);
    cache_[key] = obj;
    if (handler_) handler_(had ? EventType::Modified : EventType::Added, obj, had ? &old : nullptr);
  } else if (type == "DELETED") {
    auto it = cache_.find(key);
    nlohmann::json old;
    bool had = it != cache_.end();
    if (had) {
      old = std::move(it->second);
      cache_.erase(it);
    }
    if (handler_) handler_(EventType::Deleted, obj, had ? &old : nullptr);
  }
}

void Informer::on_watch_end(const Response& r) {
  watch_.reset();
  if (!running_) return;
  if (r.status == 200 && r.error.empty()) {
    // A clean end (timeoutSeconds, an apiserver restart): resume from where we are. Only a
    // stream that ended without delivering anything backs off, so a server that keeps
    // closing at once is not hammered.
    if (watch_got_data_) {
      backoff_.reset();
      start_watch();
    } else {
      retry(false);
    }
    return;
  }
  if (r.gone()) {
    ++counters_.expired;
    list_page("", std::make_shared<std::map<std::string, nlohmann::json>>());
    return;
  }
  ++counters_.errors;
  log_->warn("{}: watch failed: {}", name_, r.describe());
  retry(false, &r);
}

void Informer::retry(bool relist, const Response* r) {
  auto delay = backoff_.next();
  if (r && !r->retry_after.empty()) {
    auto server = std::chrono::milliseconds(1000LL * std::atoi(r->retry_after.c_str()));
    delay = std::max(delay, std::min(server, options_.backoff_max));
  }
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait(lifetime_.wrap([this, relist](boost::system::error_code ec) {
    if (ec || !running_) return;
    if (relist) {
      list_page("", std::make_shared<std::map<std::string, nlohmann::json>>());
    } else {
      start_watch();
    }
  }));
}

}  // namespace kc::kube

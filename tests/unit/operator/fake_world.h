// In-memory stand-ins for what the controller talks to: the Kubernetes API (objects by path,
// watched caches the test fills), the agents (each one's view of the membership) and the
// `nodes` table. Answers are posted to the io_context the world is attached to, as the real
// clients' are; a "crash" is a new io_context and controller over the same world, so nothing
// of the old controller's in-flight work ever completes.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "operator/controller/agent_api.h"
#include "operator/controller/kube_api.h"
#include "operator/controller/nodes_store.h"

namespace kc::controller::testing {

class FakeCache : public ObjectCache {
 public:
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  void start() override { synced_ = true; }
  bool synced() const override { return synced_; }
  const std::map<std::string, nlohmann::json>& items() const override { return items_; }
  const nlohmann::json* get(const std::string& key) const override {
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : &it->second;
  }
  // As a watch event: the cache changes, then the handler sees it.
  void put(const std::string& key, const nlohmann::json& obj) {
    auto it = items_.find(key);
    std::optional<nlohmann::json> old;
    if (it != items_.end()) old = it->second;
    items_[key] = obj;
    if (handler_)
      handler_(old ? kube::EventType::Modified : kube::EventType::Added, obj,
               old ? &*old : nullptr);
  }
  void remove(const std::string& key) {
    auto it = items_.find(key);
    if (it == items_.end()) return;
    auto last = it->second;
    items_.erase(it);
    if (handler_) handler_(kube::EventType::Deleted, last, nullptr);
  }
  // Contents without events (the state a restarted controller lists).
  std::map<std::string, nlohmann::json>& contents() { return items_; }

 private:
  Handler handler_;
  std::map<std::string, nlohmann::json> items_;
  bool synced_ = false;
};

// Objects by path. The caches handed out are owned by the world (not the controller), so a
// restarted controller lists what the previous one left; a create or delete of a ClusterNode
// shows in the clusternodes cache, as a watch would deliver it.
class FakeKube : public KubeApi {
 public:
  boost::asio::io_context* io = nullptr;
  std::map<std::string, nlohmann::json> objects;  // by path
  std::map<std::string, int> failing;             // "METHOD path" -> status answered instead
  std::vector<std::string> calls;                 // "METHOD path", in order
  std::map<std::string, int> deleted;             // path -> successful deletes
  std::vector<nlohmann::json> events;
  FakeCache pods, nodes, clusternodes;

  void request(const std::string& method, const std::string& path,
               const std::optional<nlohmann::json>& body, Done done,
               const std::string& = "application/json") override {
    calls.push_back(method + " " + path);
    // Answered later, as a server does: the caller may still be iterating a cache this
    // request changes.
    boost::asio::post(*io, [this, done = std::move(done), method, path, body] {
      done(answer(method, path, body));
    });
  }
  std::unique_ptr<ObjectCache> watch(const kube::InformerOptions& options,
                                     const std::string& name) override {
    FakeCache* target = name == "pods" ? &pods : name == "nodes" ? &nodes : &clusternodes;
    watched_[name] = options;
    return std::make_unique<Borrowed>(*target);
  }
  size_t count(const std::string& call) const {
    return static_cast<size_t>(std::count(calls.begin(), calls.end(), call));
  }

 private:
  // The controller owns what watch() returns; the world keeps the cache itself.
  class Borrowed : public ObjectCache {
   public:
    explicit Borrowed(FakeCache& c) : c_(c) {}
    ~Borrowed() override { c_.set_handler(nullptr); }
    void set_handler(Handler h) override { c_.set_handler(std::move(h)); }
    void start() override { c_.start(); }
    bool synced() const override { return c_.synced(); }
    const std::map<std::string, nlohmann::json>& items() const override { return c_.items(); }
    const nlohmann::json* get(const std::string& key) const override { return c_.get(key); }

   private:
    FakeCache& c_;
  };

  static bool is_clusternode(const std::string& path) {
    return path.find("/clusternodes") != std::string::npos;
  }
  // "ns/name" of a ClusterNode path ".../namespaces/<ns>/clusternodes/<name>".
  static std::string cache_key(const std::string& path) {
    auto cn = path.find("/clusternodes/");
    auto ns_end = path.rfind('/', cn - 1);
    return path.substr(ns_end + 1, cn - ns_end - 1) + "/" + path.substr(cn + 14);
  }

  kube::Response answer(const std::string& method, const std::string& path,
                        const std::optional<nlohmann::json>& body) {
    kube::Response r;
    if (auto f = failing.find(method + " " + path); f != failing.end()) {
      r.status = f->second;
      return r;
    }
    auto it = objects.find(path);
    if (method == "GET") {
      r.status = it == objects.end() ? 404 : 200;
      if (it != objects.end()) r.body = it->second;
    } else if (method == "DELETE") {
      r.status = it == objects.end() ? 404 : 200;
      if (it != objects.end()) {
        objects.erase(it);
        ++deleted[path];
        if (is_clusternode(path)) clusternodes.remove(cache_key(path));
      }
    } else if (method == "POST" && path.find("/events") != std::string::npos) {
      events.push_back(*body);
      r.status = 201;
    } else if (method == "POST") {
      auto item = path + "/" + (*body)["metadata"].value("name", "");
      if (objects.count(item)) {
        r.status = 409;
      } else {
        objects[item] = *body;
        r.status = 201;
        if (is_clusternode(item)) clusternodes.put(cache_key(item), *body);
      }
    } else if (method == "PATCH") {
      auto target = path.substr(0, path.size() - (path.ends_with("/status") ? 7 : 0));
      auto obj = objects.find(target);
      if (obj == objects.end()) {
        r.status = 404;
      } else {
        obj->second.merge_patch(*body);
        r.status = 200;
        if (is_clusternode(target)) clusternodes.put(cache_key(target), obj->second);
      }
    }
    return r;
  }

  std::map<std::string, kube::InformerOptions> watched_;
};

// Agents by RPC address, each with its own view of the membership. A force-leave removes the
// member from every view that the `gossip` setting reaches (all of them by default).
class FakeAgents : public AgentApi {
 public:
  boost::asio::io_context* io = nullptr;
  std::map<std::string, std::vector<Member>> views;  // addr -> members it lists
  std::set<std::string> down;                        // addrs that do not answer
  std::vector<std::string> force_leaves;             // "addr name"
  bool gossip = true;

  void members(const std::string& addr, MembersDone done) override {
    std::optional<std::vector<Member>> out;
    std::string error;
    if (down.count(addr) || !views.count(addr)) {
      error = "connection refused";
    } else {
      out = views[addr];
    }
    boost::asio::post(*io, [done = std::move(done), out, error] { done(out, error); });
  }
  void force_leave_prune(const std::string& addr, const std::string& node, bool,
                         Done done) override {
    force_leaves.push_back(addr + " " + node);
    bool ok = !down.count(addr) && views.count(addr);
    if (ok) {
      for (auto& [a, ms] : views)
        if (gossip || a == addr) std::erase_if(ms, [&](const Member& m) { return m.name == node; });
    }
    boost::asio::post(*io, [done = std::move(done), ok] { done(ok, ok ? "" : "refused"); });
  }
  const std::string& auth_key() const override { return key_; }
  // Every agent lists `m`.
  void add_everywhere(const Member& m) {
    for (auto& [a, ms] : views) ms.push_back(m);
  }
  size_t force_leaves_of(const std::string& name) const {
    size_t n = 0;
    for (auto& f : force_leaves)
      if (f.ends_with(" " + name)) ++n;
    return n;
  }

 private:
  std::string key_ = "token";
};

class FakeRows : public NodesStore {
 public:
  boost::asio::io_context* io = nullptr;
  std::map<std::string, datastore::NodeRow> rows;
  std::map<std::string, int> deleted;  // successful deletes by name
  bool failing = false;                // Postgres down

  void delete_node(const std::string& name, datastore::Callback<bool> done) override {
    std::optional<datastore::PgError> err;
    bool found = false;
    if (failing) {
      err = datastore::PgError{};
      err->message = "connection refused";
    } else if (rows.erase(name)) {
      found = true;
      ++deleted[name];
    }
    boost::asio::post(*io, [done = std::move(done), err, found] { done(err, found); });
  }
  void live_nodes(datastore::Callback<std::vector<datastore::NodeRow>> done) override {
    std::optional<datastore::PgError> err;
    std::vector<datastore::NodeRow> out;
    if (failing) {
      err = datastore::PgError{};
      err->message = "connection refused";
    } else {
      for (auto& [name, row] : rows) out.push_back(row);
    }
    boost::asio::post(*io, [done = std::move(done), err, out] { done(err, out); });
  }
};

}  // namespace kc::controller::testing

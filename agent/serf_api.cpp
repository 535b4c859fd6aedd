#include "agent/serf_api.h"

#include <sys/utsname.h>

#include <thread>

#include "agent/gossip/crypto/keyring.h"

namespace kc::agent {

SerfApi::~SerfApi() {
  for (auto& [id, serf_id] : subscriptions_) serf_.unsubscribe(serf_id);
}

rpc::MemberInfo SerfApi::to_info(const serf::Member& m) {
  rpc::MemberInfo info;
  info.name = m.name;
  info.addr = m.addr.ip;
  info.port = m.addr.port;
  info.tags = m.tags;
  info.status = serf::to_string(m.status);
  info.protocol_min = m.protocol_min;
  info.protocol_max = m.protocol_max;
  info.protocol_cur = m.protocol_cur;
  info.delegate_min = m.delegate_min;
  info.delegate_max = m.delegate_max;
  info.delegate_cur = m.delegate_cur;
  return info;
}

std::vector<rpc::MemberInfo> SerfApi::members() {
  std::vector<rpc::MemberInfo> out;
  for (auto& m : serf_.members()) out.push_back(to_info(m));
  return out;
}

void SerfApi::join(const std::vector<std::string>& addrs, bool replay,
                   std::function<void(int, rpc::Error)> done) {
  serf_.join(addrs, !replay, [done](int n, const std::string& err) { done(n, err); });
}

void SerfApi::force_leave(const std::string& node, bool prune,
                          std::function<void(rpc::Error)> done) {
  serf_.force_leave(node, prune, [done](const std::string& err) { done(err); });
}

void SerfApi::force_leave_gone(const std::string& node, std::function<void(rpc::Error)> done) {
  serf_.force_leave_gone(node, [done](const std::string& err) { done(err); });
}

void SerfApi::leave(std::function<void(rpc::Error)> done) {
  serf_.leave([done](const std::string& err) { done(err); });
}

void SerfApi::shutdown() {
  if (on_shutdown_) serf_.scheduler().post(on_shutdown_);
}

rpc::Error SerfApi::user_event(const std::string& name, const rpc::Bytes& payload, bool coalesce) {
  return serf_.user_event(name, payload, coalesce);
}

rpc::Tags SerfApi::local_tags() {
  return serf_.tags();
}
rpc::Error SerfApi::set_tags(const rpc::Tags& tags) {
  return serf_.set_tags(tags);
}

void SerfApi::key_op(rpc::KeyOp op, const std::string& key,
                     std::function<void(rpc::KeyResult)> done) {
  auto finish = [done](const serf::KeyResponse& r, const std::string& err) {
    rpc::KeyResult out;
    out.error = err;
    out.messages = r.messages;
    out.keys = r.keys;
    out.num_nodes = r.num_nodes;
    out.num_resp = r.num_resp;
    out.num_err = r.num_err;
    done(out);
  };
  auto& km = serf_.key_manager();
  switch (op) {
    case rpc::KeyOp::Install:
      return km.install_key(key, finish);
    case rpc::KeyOp::Use:
      return km.use_key(key, finish);
    case rpc::KeyOp::Remove:
      return km.remove_key(key, finish);
    case rpc::KeyOp::List:
      return km.list_keys(finish);
  }
}

rpc::Error SerfApi::query(const rpc::QueryParams& params,
                          std::function<void(const rpc::QueryRecord&)> on_record,
                          std::function<void()> on_done) {
  serf::QueryParam p;
  p.filter_nodes = params.filter_nodes;
  p.filter_tags = params.filter_tags;
  p.request_ack = params.request_ack;
  p.relay_factor = params.relay_factor;
  p.timeout = params.timeout;
  std::string error;
  auto resp = serf_.query(params.name, params.payload, p, &error);
  if (!resp) return error.empty() ? "query failed" : error;
  resp->on_ack = [on_record](const std::string& from) {
    on_record(rpc::QueryRecord{rpc::QueryRecord::Type::Ack, from, {}});
  };
  resp->on_response = [on_record](const serf::NodeResponse& r) {
    on_record(rpc::QueryRecord{rpc::QueryRecord::Type::Response, r.from, r.payload});
  };
  resp->on_done = on_done;
  return "";
}

rpc::Error SerfApi::respond(uint64_t handle, const rpc::Bytes& payload) {
  auto it = pending_queries_.find(handle);
  auto q = it == pending_queries_.end() ? nullptr : it->second.lock();
  if (!q) return "No pending queries matching ID";
  return q->respond(payload);
}

uint64_t SerfApi::subscribe_events(std::function<void(const rpc::Event&)> callback) {
  uint64_t id = next_subscription_++;
  int serf_id = serf_.subscribe([this, callback](const serf::Event& e) {
    if (auto* m = std::get_if<serf::MemberEvent>(&e)) {
      rpc::MemberEvent out{serf::to_string(m->type), {}};
      for (auto& member : m->members) out.members.push_back(to_info(member));
      callback(out);
    } else if (auto* u = std::get_if<serf::UserEvent>(&e)) {
      callback(rpc::UserEvent{u->ltime, u->name, u->payload, u->coalesce});
    } else if (auto* q = std::get_if<std::shared_ptr<serf::Query>>(&e)) {
      // Forget queries whose deadline passed, then remember this one by handle.
      auto now = serf_.scheduler().now();
      std::erase_if(pending_queries_, [&](auto& kv) {
        auto live = kv.second.lock();
        return !live || live->deadline < now;
      });
      uint64_t handle = next_query_handle_++;
      pending_queries_[handle] = *q;
      // The RPC deadline is on the steady clock; Serf's scheduler is the same clock in the agent.
      callback(rpc::QueryEvent{(*q)->ltime, (*q)->name, (*q)->payload, handle, (*q)->deadline});
    }
  });
  subscriptions_[id] = serf_id;
  return id;
}

void SerfApi::unsubscribe_events(uint64_t id) {
  auto it = subscriptions_.find(id);
  if (it == subscriptions_.end()) return;
  serf_.unsubscribe(it->second);
  subscriptions_.erase(it);
}

std::map<std::string, std::map<std::string, std::string>> SerfApi::stats() {
  utsname u{};
  uname(&u);
  std::map<std::string, std::map<std::string, std::string>> out;
  out["agent"] = {{"name", serf_.name()}};
  out["runtime"] = {{"os", "linux"},
                    {"arch", u.machine},
                    {"version", "kong-cluster"},
                    {"max_procs", "1"},
                    {"goroutines", "0"},
                    {"cpu_count", std::to_string(std::thread::hardware_concurrency())}};
  out["serf"] = serf_.stats();
  out["tags"] = serf_.tags();
  out["event_handlers"] = event_handlers_;
  return out;
}

std::optional<rpc::Coordinate> SerfApi::coordinate(const std::string& node) {
  auto c = node == serf_.name() ? serf_.get_coordinate() : serf_.get_cached_coordinate(node);
  if (!c) return std::nullopt;
  return rpc::Coordinate{c->vec, c->error, c->adjustment, c->height};
}

}  // namespace kc::agent

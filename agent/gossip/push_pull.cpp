// Push/pull state exchange: join and periodic anti-entropy (memberlist net.go
// sendAndReceiveState / mergeState; docs/wire.md, "Push/pull").
#include <netdb.h>

#include <algorithm>

#include "agent/gossip/member_name.h"
#include "agent/gossip/memberlist_impl.h"

namespace kc::gossip {

Bytes Memberlist::Impl::encode_local_state(bool join) {
  Bytes user = delegates_.delegate ? delegates_.delegate->local_state(join) : Bytes{};
  Bytes out{static_cast<uint8_t>(MsgType::PushPull)};
  encode_body(out, PushPullHeader{int64_t(nodes_.size()), int64_t(user.size()), join});
  for (auto& e : nodes_)
    encode_body(out, PushNodeStateView{e->name.view(), e->ip_bytes(), e->port, e->meta.bytes(),
                                       e->incarnation, e->state, e->vsn});
  out.insert(out.end(), user.begin(), user.end());
  return out;
}

Memberlist::Impl::RemoteState Memberlist::Impl::decode_remote_state(std::span<const uint8_t> msg) {
  if (msg.empty() || msg[0] != static_cast<uint8_t>(MsgType::PushPull))
    throw mp::DecodeError("not a push/pull message");
  auto data = msg.subspan(1);
  size_t off = 0;
  auto header = decode_push_pull_header(parser_.parse(data, off));
  if (header.nodes < 0 || header.user_state_len < 0) throw mp::DecodeError("negative counts");
  RemoteState out;
  out.join = header.join;
  // Every node takes at least a byte: a count beyond the message's length is not reserved.
  out.nodes.reserve(std::min(size_t(header.nodes), data.size() - off));
  for (int64_t i = 0; i < header.nodes; ++i)
    out.nodes.push_back(decode_push_node_state_view(parser_.parse(data, off), out.spill));
  if (data.size() - off < size_t(header.user_state_len))
    throw mp::DecodeError("push/pull user state truncated");
  out.user_state = data.subspan(off, size_t(header.user_state_len));
  return out;
}

std::string Memberlist::Impl::verify_protocol(const std::vector<PushNodeStateView>& remote) const {
  // Every node's current versions must lie inside every alive node's range.
  uint8_t maxpmin = 0;
  uint8_t minpmax = 255;
  uint8_t maxdmin = 0;
  uint8_t mindmax = 255;
  auto widen = [&](const Vsn& v) {
    maxpmin = std::max(maxpmin, v[0]);
    minpmax = std::min(minpmax, v[1]);
    maxdmin = std::max(maxdmin, v[3]);
    mindmax = std::min(mindmax, v[4]);
  };
  auto vsn_of = [](std::span<const uint8_t> b) {
    Vsn v{};
    std::copy_n(b.begin(), std::min<size_t>(6, b.size()), v.begin());
    return v;
  };
  for (auto& r : remote)
    if (r.state == NodeState::Alive && !r.vsn.empty()) widen(vsn_of(r.vsn));
  for (auto& e : nodes_)
    if (e->state == NodeState::Alive) widen(e->vsn);
  auto check = [&](std::string_view name, const Vsn& v) -> std::string {
    if (v[2] < maxpmin || v[2] > minpmax)
      return "Node '" + std::string(name) + "' protocol version (" + std::to_string(v[2]) +
             ") is incompatible: [" + std::to_string(maxpmin) + ", " + std::to_string(minpmax) +
             "]";
    if (v[5] < maxdmin || v[5] > mindmax)
      return "Node '" + std::string(name) + "' delegate protocol version (" + std::to_string(v[5]) +
             ") is incompatible: [" + std::to_string(maxdmin) + ", " + std::to_string(mindmax) +
             "]";
    return {};
  };
  for (auto& r : remote)
    if (auto err = check(r.name, vsn_of(r.vsn)); !err.empty()) return err;
  for (auto& e : nodes_)
    if (auto err = check(e->name.view(), e->vsn); !err.empty()) return err;
  return {};
}

bool Memberlist::Impl::merge_remote_state(const RemoteState& remote, std::string& error) {
  error = verify_protocol(remote.nodes);
  if (!error.empty()) return false;
  for (const auto& r : remote.nodes) {
    uint16_t port = r.port ? r.port : config_.advertise.port;
    if (r.name.empty()) continue;
    if (r.addr.size() != 4 && r.addr.size() != 16) {
      ++stats_.dropped(DropReason::BadAddress);
      continue;
    }
    switch (r.state) {
      case NodeState::Alive:
        alive_node(AliveView{r.incarnation, r.name, r.addr, port, r.meta, r.vsn}, false);
        break;
      case NodeState::Left:
        dead_node(Dead{r.incarnation, std::string(r.name), std::string(r.name)});
        break;
      case NodeState::Dead:  // a remote "dead" only makes us suspect
      case NodeState::Suspect:
        suspect_node(Suspect{r.incarnation, std::string(r.name), config_.name});
        break;
    }
  }
  if (delegates_.delegate && !remote.user_state.empty())
    delegates_.delegate->merge_remote_state(remote.user_state, remote.join);
  return true;
}

void Memberlist::Impl::push_pull_node(const Address& to, bool join,
                                      std::function<void(std::string)> done, Duration timeout) {
  auto token = lifetime_.watch();
  transport_.stream_request(to, seal_stream(encode_local_state(join)), true,
                            timeout > Duration::zero() ? timeout : config_.tcp_timeout,
                            [this, token, to, done = std::move(done)](std::optional<Bytes> reply,
                                                                      const std::string& error) {
                              if (token.expired()) return done("shut down");
                              if (!reply) return done(error.empty() ? "no reply" : error);
                              // The reply is input from the network like any packet: same boundary.
                              std::string result;
                              bool completed = guarded("push/pull reply", to, [&] {
                                std::string why;
                                auto msg = open_stream(*reply, why);
                                if (!msg) {
                                  result = why;
                                  return;
                                }
                                try {
                                  if ((*msg)[0] == static_cast<uint8_t>(MsgType::Err)) {
                                    auto err =
                                        decode_err(parser_.parse(std::span(*msg).subspan(1)));
                                    result = "remote error: " + err.error;
                                    return;
                                  }
                                  auto remote = decode_remote_state(*msg);
                                  ++stats_.push_pulls;
                                  std::string merge_error;
                                  if (!merge_remote_state(remote, merge_error))
                                    result = merge_error;
                                } catch (const mp::DecodeError& e) {
                                  result = std::string("bad push/pull reply: ") + e.what();
                                }
                              });
                              done(completed ? result : "push/pull reply could not be handled");
                            });
}

void Memberlist::Impl::push_pull() {
  if (shutdown_ || leaving_) return;
  auto peers = random_nodes(
      1, [&](const Entry& e) { return e.name == self_name_ || e.state != NodeState::Alive; });
  if (peers.empty()) return;
  std::string name = peers[0]->name.str();
  push_pull_node(peers[0]->addr(), false, [this, name](std::string error) {
    if (!error.empty()) log_->error("Push/Pull with {} failed: {}", name, error);
  });
}

// Gossip hands each new alive to RetransmitMult·log10(n) random peers, so in a burst of joins
// a member misses one with probability ~e^-8 per pair; memberlist then waits for the periodic
// push/pull (30-90 s at 60 nodes; docs/benchmarks.md measured stragglers). Two cheap,
// wire-compatible catch-ups close most of that gap: one extra push/pull a few seconds after
// our own join (the cluster is still changing), and one with any member that pings us before
// we have heard of it.
void Memberlist::Impl::sync_soon_after_join() {
  Duration delay = 2s + random_duration(1s);
  sched_.schedule(delay, [this, token = lifetime_.watch()] {
    if (!token.expired()) push_pull();
  });
}

// The second catch-up pushes our whole state over TCP to an address named inside a UDP
// packet, which anyone can forge on a plaintext cluster. So it goes only to a pinger whose
// claimed address is the one the packet came from (a real member pings from its advertised
// address; a forged SourceAddr cannot name a third party), once per name per 10 s, and
// through one token bucket for all pingers together.
void Memberlist::Impl::sync_with_unknown(const std::string& name, const Address& claimed,
                                         const Address& from) {
  if (shutdown_ || leaving_ || name == config_.name || entry(name)) return;
  TimePoint now = sched_.now();
  auto it = unknown_synced_.find(name);
  if (it != unknown_synced_.end() && now - it->second < 10s) return;
  const char* refused = !claimed.same_endpoint(from)       ? "claimed address is not the sender"
                        : !member_name_error(name).empty() ? "bad name"
                        : !catch_up_budget_.take(now)      ? "rate limit"
                                                           : nullptr;
  if (refused) {
    ++stats_.dropped(DropReason::CatchUpRefused);
    log_limited(drop_log_, "Not syncing with unknown pinger claiming " + claimed.to_string() +
                               " from " + from.to_string() + ": " + refused);
    return;
  }
  if (unknown_synced_.size() > 1024) unknown_synced_.clear();  // bounded against spoofed names
  unknown_synced_[name] = now;
  log_->debug("Pinged by unknown member {} ({}): syncing state", name, claimed.to_string());
  push_pull_node(claimed, false, [this, name](std::string error) {
    if (!error.empty()) log_->debug("Catch-up push/pull with {} failed: {}", name, error);
  });
}

namespace {

// "host:port", "name/host:port" or "host" (default port); hosts may be names (resolved).
std::vector<Address> resolve(const std::string& spec, uint16_t default_port, std::string& error) {
  std::string hostport = spec;
  if (auto slash = hostport.find('/'); slash != std::string::npos)
    hostport = hostport.substr(slash + 1);
  std::string host = hostport;
  uint16_t port = default_port;
  bool bracketed = !host.empty() && host[0] == '[';
  auto colon = host.rfind(':');
  if (colon != std::string::npos &&
      (bracketed ? host.find(']') < colon : host.find(':') == colon)) {
    try {
      int p = std::stoi(host.substr(colon + 1));
      if (p < 0 || p > 65535) throw std::out_of_range("port");
      port = static_cast<uint16_t>(p);
    } catch (const std::exception&) {
      error = "bad port in " + spec;
      return {};
    }
    host = host.substr(0, colon);
  }
  if (bracketed) host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return {};
  }
  std::vector<Address> out;
  for (auto* ai = res; ai; ai = ai->ai_next) {
    Address a;
    a.port = port;
    if (ai->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      auto* p = reinterpret_cast<uint8_t*>(&sin->sin_addr);
      a.ip.assign(p, p + 4);
    } else if (ai->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      auto* p = reinterpret_cast<uint8_t*>(&sin6->sin6_addr);
      a.ip.assign(p, p + 16);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace

void Memberlist::Impl::join(const std::vector<std::string>& addresses,
                            std::function<void(int, std::string)> done) {
  // All addresses are tried at once: a dead address costs its timeout only once, in
  // parallel with the live ones (Go tries them one after another).
  struct JoinRun {
    int pending = 0;
    int joined = 0;
    std::string errors;
    std::function<void(int, std::string)> done;
  };
  auto run = std::make_shared<JoinRun>();
  run->done = std::move(done);
  auto finish_one = [this, run](const std::string& what, const std::string& error) {
    if (error.empty()) {
      ++run->joined;
    } else {
      if (!run->errors.empty()) run->errors += "; ";
      run->errors += "Failed to join " + what + ": " + error;
    }
    if (--run->pending == 0) {
      if (run->joined > 0) sync_soon_after_join();
      run->done(run->joined, run->joined > 0 ? "" : run->errors);
    }
  };
  std::vector<std::pair<std::string, Address>> targets;
  for (auto& spec : addresses) {
    std::string error;
    auto resolved = resolve(spec, config_.advertise.port, error);
    if (!error.empty()) {
      run->errors.append(run->errors.empty() ? "" : "; ")
          .append("Failed to join ")
          .append(spec)
          .append(": ")
          .append(error);
      continue;
    }
    for (auto& a : resolved) targets.emplace_back(a.to_string(), a);
  }
  run->pending = int(targets.size());
  if (targets.empty()) {
    sched_.post(
        [run] { run->done(0, run->errors.empty() ? "no addresses to join" : run->errors); });
    return;
  }
  // A named copy: lambdas cannot capture structured bindings before clang 16.
  for (auto& [what, addr] : targets) {
    push_pull_node(addr, true, [finish_one, target = what](const std::string& error) {
      finish_one(target, error);
    });
  }
}

}  // namespace kc::gossip

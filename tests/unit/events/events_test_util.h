// Shared by the events tests: Serf events built by hand, and running an io_context until a
// condition holds (with a deadline) instead of sleeping.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

#include "agent/serf/event.h"

namespace kc::test {

inline serf::Member make_member(const std::string& name, std::vector<uint8_t> ip, uint16_t port,
                                serf::Tags tags = {}) {
  serf::Member m;
  m.name = name;
  m.addr = gossip::Address{std::move(ip), port};
  m.tags = std::move(tags);
  m.status = serf::MemberStatus::Alive;
  return m;
}

inline serf::UserEvent user_event(const std::string& name, const std::string& payload,
                                  serf::LamportTime ltime = 1) {
  serf::UserEvent u;
  u.name = name;
  u.payload.assign(payload.begin(), payload.end());
  u.ltime = ltime;
  return u;
}

// Runs handlers on `io` until `cond` holds or `timeout` passes; returns whether it held.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& cond,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  io.restart();
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(std::chrono::milliseconds(20));
    if (io.stopped()) io.restart();
  }
  return true;
}

}  // namespace kc::test

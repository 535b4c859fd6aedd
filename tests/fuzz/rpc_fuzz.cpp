// libFuzzer target for the RPC connection state machine (agent/rpc/session.h): arbitrary
// client bytes, delivered in arbitrary chunks, against a stub agent whose asynchronous
// answers and events arrive between chunks. No sockets. Every byte the session writes
// must decode as msgpack objects, and nothing may crash, leak or hang.
//
// Input layout: byte 0 picks the variant (bit 0: an auth key is configured; bit 1: a valid
// handshake (+ auth) is prepended so the fuzzer reaches the commands quickly; bits 2-5:
// chunk size 1..16), the rest is the client's byte stream.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <cstdlib>
#include <map>

#include "agent/rpc/session.h"
#include "common/logging.h"
#include "fuzz/stub_agent.h"

namespace {

using namespace kc::rpc;
namespace asio = boost::asio;
using kc::fuzz::StubAgent;

class StubLogs : public LogSource {
 public:
  std::vector<kc::log::Line> recent() override {
    return {{spdlog::level::debug, "d"}, {spdlog::level::info, "i"}, {spdlog::level::err, "e"}};
  }
  uint64_t subscribe(std::function<void(const kc::log::Line&)> cb) override {
    subs_[++next_] = std::move(cb);
    return next_;
  }
  void unsubscribe(uint64_t id) override { subs_.erase(id); }
  void log_line() {
    auto subs = subs_;
    for (auto& [id, cb] : subs)
      if (subs_.count(id)) cb({spdlog::level::warn, "w"});
  }
  size_t subscribers() const { return subs_.size(); }

 private:
  std::map<uint64_t, std::function<void(const kc::log::Line&)>> subs_;
  uint64_t next_ = 0;
};

struct Sink : SessionOutput {
  kc::mp::Bytes data;
  bool finished = false;
  void send(kc::mp::Bytes b) override { data.insert(data.end(), b.begin(), b.end()); }
  size_t backlog() const override { return 0; }
  void finish(std::function<void()> after) override {
    finished = true;
    if (after) after();
  }
};

kc::mp::Bytes preamble(bool auth) {
  kc::mp::Bytes b;
  kc::mp::Writer w(b, kc::mp::Dialect::Rpc);
  w.map(2).key("Command").str("handshake").key("Seq").uint(1);
  w.map(1).key("Version").uint(1);
  if (auth) {
    w.map(2).key("Command").str("auth").key("Seq").uint(2);
    w.map(1).key("AuthKey").str("s3cret");
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    kc::log::get("rpc")->set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  uint8_t control = data[0];
  bool auth = control & 1;
  size_t chunk = 1 + ((control >> 2) & 15);
  kc::mp::Bytes input;
  if (control & 2) input = preamble(auth);
  input.insert(input.end(), data + 1, data + size);

  asio::io_context io;
  StubAgent agent(io);
  StubLogs logs;
  Sink sink;
  SessionLimits limits;
  limits.max_object = 64 * 1024;
  limits.max_buffered = 128 * 1024;
  {
    Session session(agent, &logs, sink, auth ? "s3cret" : "", "fuzz", limits);
    for (size_t off = 0; off < input.size() && !session.closed(); off += chunk) {
      size_t n = std::min(chunk, input.size() - off);
      session.feed(std::span<const uint8_t>(input.data() + off, n));
      logs.log_line();
      io.poll();
      io.restart();
      session.drained();
    }
    session.close();
    if (agent.subscribers() != 0 || logs.subscribers() != 0) std::abort();  // leaked subscription
  }
  io.poll();  // late answers after the session is gone must be harmless

  // Everything written must be well-formed msgpack.
  size_t off = 0;
  while (off < sink.data.size()) {
    try {
      kc::mp::Document::parse(sink.data, off);
    } catch (const kc::mp::DecodeError&) {
      std::abort();
    }
  }
  return 0;
}

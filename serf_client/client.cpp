#include "serf_client/client.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <csignal>

#include "common/address.h"
#include "serf_client/frame.h"

namespace kc::serf_client {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxReply = 256u << 20;  // a member list of many thousands still fits

template <typename T>
Bytes encode(const T& req) {
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  proto::write(w, req);
  return b;
}

Clock::time_point deadline_after(std::chrono::milliseconds d) {
  return Clock::now() + d;
}

// Replies that do not decode as the expected struct are a connection-level failure.
template <typename F>
auto decoded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const mp::DecodeError& e) {
    throw ClientError(std::string("malformed reply from the agent: ") + e.what());
  }
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)), socket_(io_) {
  std::pair<std::string, uint16_t> hp;
  try {
    hp = split_host_port(options_.addr);
  } catch (const std::invalid_argument& e) {
    throw ClientError(e.what());
  }
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto endpoints = resolver.resolve(hp.first, std::to_string(hp.second), ec);
  if (ec) throw ClientError("cannot resolve " + hp.first + ": " + ec.message());

  bool done = false;
  boost::system::error_code cec;
  asio::async_connect(socket_, endpoints, [&](boost::system::error_code e, const tcp::endpoint&) {
    cec = e;
    done = true;
  });
  auto deadline = deadline_after(options_.connect_timeout);
  io_.restart();
  while (!done && Clock::now() < deadline) io_.run_one_until(deadline);
  if (!done) {
    socket_.close(ec);
    while (!done) io_.run_one();
    throw ClientError("connection timed out");
  }
  if (cec) throw ClientError(cec.message());

  Bytes hs = encode(proto::HandshakeRequest{proto::kIpcVersion});
  expect_ok(proto::cmd::kHandshake, &hs, false);
  if (!options_.auth_key.empty()) {
    Bytes auth = encode(proto::AuthRequest{options_.auth_key});
    expect_ok(proto::cmd::kAuth, &auth, false);
  }
}

Client::~Client() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void Client::interrupt_on_signals() {
  if (signals_) return;
  signals_.emplace(io_, SIGINT, SIGTERM);
  signals_->async_wait([this](boost::system::error_code ec, int) {
    if (!ec) interrupted_ = true;
  });
}

void Client::write_all(const Bytes& data, Clock::time_point deadline) {
  bool done = false;
  boost::system::error_code wec;
  asio::async_write(socket_, asio::buffer(data), [&](boost::system::error_code e, size_t) {
    wec = e;
    done = true;
  });
  io_.restart();
  while (!done && Clock::now() < deadline) io_.run_one_until(deadline);
  if (!done) {
    socket_.cancel();
    while (!done) io_.run_one();
    throw ClientError("timed out writing to the agent");
  }
  if (wec) throw ClientError("write to the agent failed: " + wec.message());
}

void Client::send(std::string_view command, uint64_t seq, const Bytes* body) {
  Bytes out;
  mp::Writer w(out, mp::Dialect::Rpc);
  proto::write(w, proto::RequestHeader{std::string(command), seq});
  if (body) out.insert(out.end(), body->begin(), body->end());
  write_all(out, deadline_after(options_.connect_timeout));
}

bool Client::fill(Clock::time_point deadline) {
  std::array<uint8_t, size_t{64} * 1024> buf;
  bool done = false;
  size_t got = 0;
  boost::system::error_code rec;
  socket_.async_read_some(asio::buffer(buf), [&](boost::system::error_code e, size_t n) {
    rec = e;
    got = n;
    done = true;
  });
  io_.restart();
  while (!done && !interrupted_ && Clock::now() < deadline) io_.run_one_until(deadline);
  if (!done) {
    wait_ = interrupted_ ? Wait::Interrupted : Wait::Timeout;
    socket_.cancel();
    while (!done) io_.run_one();
    // A read that completed while being cancelled still delivered its bytes.
    if (!rec) in_.insert(in_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
    return false;
  }
  if (rec == asio::error::eof) throw ClientError("connection closed by the agent");
  if (rec) throw ClientError("read from the agent failed: " + rec.message());
  in_.insert(in_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
  return true;
}

bool Client::read_object(mp::Document& out, Clock::time_point deadline) {
  while (true) {
    if (off_ < in_.size()) {
      std::span<const uint8_t> data(in_.data() + off_, in_.size() - off_);
      FrameScan scan = scan_object(data, kMaxReply);
      if (scan.status == FrameScan::Status::Complete) {
        try {
          out = mp::Document::parse(data.first(scan.length));
        } catch (const mp::DecodeError& e) {
          throw ClientError(std::string("malformed reply from the agent: ") + e.what());
        }
        off_ += scan.length;
        // Drop consumed bytes now and then, so a long monitor session stays small.
        if (off_ == in_.size() || off_ > size_t{64} * 1024) {
          in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(off_));
          off_ = 0;
        }
        return true;
      }
      if (scan.status != FrameScan::Status::Incomplete)
        throw ClientError("malformed reply from the agent");
    }
    if (!fill(deadline)) return false;
  }
}

Client::Reply Client::call(std::string_view command, const Bytes* body, bool reply_body) {
  uint64_t seq = ++seq_;
  send(command, seq, body);
  auto deadline = deadline_after(options_.reply_timeout);
  auto must_read = [&](mp::Document& doc) {
    if (!read_object(doc, deadline))
      throw ClientError(wait_ == Wait::Interrupted ? "interrupted"
                                                   : "timed out waiting for the agent's reply");
  };
  if (record_header_) {
    // A record whose body had not arrived when next_record() gave up.
    mp::Document b;
    must_read(b);
    if (streams_.contains(*record_header_)) early_.push_back({*record_header_, std::move(b)});
    record_header_.reset();
  }
  while (true) {
    mp::Document doc;
    must_read(doc);
    proto::ResponseHeader h;
    try {
      h = proto::read_response_header(doc.root());
    } catch (const mp::DecodeError& e) {
      throw ClientError(std::string("malformed reply header: ") + e.what());
    }
    if (h.seq == seq) {
      Reply r{h.error, std::nullopt};
      // "Authentication required" comes without a body, whatever the command.
      if (reply_body && h.error != proto::err::kAuthRequired) {
        mp::Document b;
        must_read(b);
        r.body = std::move(b);
      }
      return r;
    }
    if (streams_.contains(h.seq) || stopped_.contains(h.seq)) {
      mp::Document b;
      must_read(b);
      if (streams_.contains(h.seq)) early_.push_back({h.seq, std::move(b)});
    }
    // Any other sequence: a header without a body (serf's client ignores it too).
  }
}

Client::Reply Client::expect_ok(std::string_view command, const Bytes* body, bool reply_body) {
  Reply r = call(command, body, reply_body);
  if (!r.error.empty()) throw RemoteError(r.error);
  if (reply_body && !r.body) throw ClientError("reply without a body");
  return r;
}

std::vector<MemberInfo> Client::members() {
  auto r = expect_ok(proto::cmd::kMembers, nullptr, true);
  return decoded([&] { return proto::read_members(r.body->root()); });
}

std::vector<MemberInfo> Client::members_filtered(const Tags& tags, const std::string& status,
                                                 const std::string& name) {
  Bytes b = encode(proto::MembersFilteredRequest{tags, status, name});
  auto r = expect_ok(proto::cmd::kMembersFiltered, &b, true);
  return decoded([&] { return proto::read_members(r.body->root()); });
}

int Client::join(const std::vector<std::string>& addrs, bool replay) {
  Bytes b = encode(proto::JoinRequest{addrs, replay});
  auto r = call(proto::cmd::kJoin, &b, true);
  if (!r.error.empty()) throw RemoteError(r.error);
  return decoded([&] { return proto::read_join_response(r.body->root()); });
}

void Client::force_leave(const std::string& node, bool prune, bool gone) {
  Bytes b = encode(proto::ForceLeaveRequest{node, prune || gone, gone});
  expect_ok(proto::cmd::kForceLeave, &b, false);
}

void Client::leave() {
  expect_ok(proto::cmd::kLeave, nullptr, false);
}

void Client::user_event(const std::string& name, const Bytes& payload, bool coalesce) {
  Bytes b = encode(proto::EventRequest{name, payload, coalesce});
  expect_ok(proto::cmd::kEvent, &b, false);
}

void Client::update_tags(const Tags& tags, const std::vector<std::string>& delete_tags) {
  Bytes b = encode(proto::TagsRequest{tags, delete_tags});
  expect_ok(proto::cmd::kTags, &b, false);
}

KeyResult Client::key_op(KeyOp op, const std::string& key) {
  std::string_view command = op == KeyOp::Install  ? proto::cmd::kInstallKey
                             : op == KeyOp::Use    ? proto::cmd::kUseKey
                             : op == KeyOp::Remove ? proto::cmd::kRemoveKey
                                                   : proto::cmd::kListKeys;
  Bytes b = encode(proto::KeyRequest{key});
  auto r = call(command, op == KeyOp::List ? nullptr : &b, true);
  KeyResult out;
  if (r.body) out = decoded([&] { return proto::read_key_response(r.body->root()); });
  out.error = r.error;
  return out;
}

proto::Stats Client::stats() {
  auto r = expect_ok(proto::cmd::kStats, nullptr, true);
  return decoded([&] { return proto::read_stats(r.body->root()); });
}

std::optional<Coordinate> Client::coordinate(const std::string& node) {
  Bytes b = encode(proto::CoordinateRequest{node});
  auto r = expect_ok(proto::cmd::kGetCoordinate, &b, true);
  return decoded([&] { return proto::read_coordinate_response(r.body->root()); });
}

void Client::respond(uint64_t id, const Bytes& payload) {
  Bytes b = encode(proto::RespondRequest{id, payload});
  expect_ok(proto::cmd::kRespond, &b, false);
}

uint64_t Client::start_stream(std::string_view command, const Bytes& body) {
  Reply r = call(command, &body, false);
  if (!r.error.empty()) throw RemoteError(r.error);
  streams_.insert(seq_);
  return seq_;
}

uint64_t Client::stream(const std::string& filter) {
  return start_stream(proto::cmd::kStream, encode(proto::StreamRequest{filter}));
}

uint64_t Client::monitor(const std::string& level) {
  return start_stream(proto::cmd::kMonitor, encode(proto::MonitorRequest{level}));
}

uint64_t Client::query(const QueryParams& params, bool payload_nil) {
  return start_stream(proto::cmd::kQuery, encode(proto::QueryRequest{params, payload_nil}));
}

void Client::stop(uint64_t seq) {
  streams_.erase(seq);
  stopped_.insert(seq);
  std::erase_if(early_, [seq](const StreamRecord& r) { return r.seq == seq; });
  Bytes b = encode(proto::StopRequest{seq});
  expect_ok(proto::cmd::kStop, &b, false);
}

Client::Wait Client::next_record(StreamRecord& out,
                                 std::optional<std::chrono::milliseconds> timeout) {
  if (!early_.empty()) {
    out = std::move(early_.front());
    early_.pop_front();
    return Wait::Record;
  }
  auto deadline = timeout ? deadline_after(*timeout) : Clock::time_point::max();
  while (true) {
    if (interrupted_) return Wait::Interrupted;
    if (!record_header_) {
      mp::Document doc;
      if (!read_object(doc, deadline)) return wait_;
      auto h = decoded([&] { return proto::read_response_header(doc.root()); });
      if (!streams_.contains(h.seq) && !stopped_.contains(h.seq)) continue;
      record_header_ = h.seq;
    }
    mp::Document body;
    if (!read_object(body, deadline)) return wait_;
    uint64_t seq = *record_header_;
    record_header_.reset();
    if (streams_.contains(seq)) {
      out = StreamRecord{seq, std::move(body)};
      return Wait::Record;
    }
  }
}

}  // namespace kc::serf_client

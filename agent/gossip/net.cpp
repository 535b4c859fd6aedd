// Receiving datagrams and streams, sending with piggybacked broadcasts, and the gossip
// round (memberlist net.go / state.go gossip; docs/wire.md).
#include "agent/gossip/compound.h"
#include "agent/gossip/memberlist_impl.h"

namespace kc::gossip {

namespace {

template <typename T>
T decode_msg(mp::Parser& parser, std::span<const uint8_t> body, T (*decoder)(const mp::Value&)) {
  return decoder(parser.parse(body));
}

constexpr size_t kUserMsgOverhead = 1;

}  // namespace

void Memberlist::Impl::log_limited(kc::log::RateLimit& limiter, const std::string& line) {
  auto suppressed = limiter.admit(sched_.now());
  if (!suppressed) return;
  try {
    log_->warn("{}{}", line, kc::log::suppressed_note(*suppressed));
  } catch (...) {  // logging must not become the way out of the boundary
  }
}

void Memberlist::Impl::on_packet(const Address& from, std::span<const uint8_t> data) {
  if (shutdown_) return;
  ++stats_.packets_received;
  if (!guarded("packet", from, [&] {
        std::string why;
        auto msg = envelope_.open_packet(data, why);
        if (!msg) {
          ++stats_.packets_dropped;
          log_->debug("Dropping packet from {}: {}", from.to_string(), why);
          return;
        }
        handle_message(*msg, from, 0);
      }))
    ++stats_.packets_dropped;
}

void Memberlist::Impl::handle_message(std::span<const uint8_t> msg, const Address& from,
                                      int depth) {
  // Never index an empty part (Go panics there); nesting is bounded against crafted input.
  if (msg.empty() || depth > 4) {
    ++stats_.packets_dropped;
    return;
  }
  auto body = msg.subspan(1);
  auto type = static_cast<MsgType>(msg[0]);
  if (type != MsgType::Compound && type != MsgType::Compress) count(stats_.received, msg);
  try {
    switch (type) {
      case MsgType::Compound: {
        auto parts = split_compound(body);
        if (!parts) throw mp::DecodeError("truncated compound header");
        if (parts->truncated) {
          ++stats_.packets_dropped;
          log_limited(drop_log_, "Compound request had " +
                                     std::to_string(body[0] - parts->parts.size()) +
                                     " truncated messages");
        }
        for (auto part : parts->parts) handle_message(part, from, depth + 1);
        return;
      }
      case MsgType::Compress: {
        auto inflated = decompress_message(body, kMaxPacketExpansion);
        if (!inflated) throw mp::DecodeError("failed to decompress payload");
        handle_message(*inflated, from, depth + 1);
        return;
      }
      case MsgType::Ping:
        return handle_ping(decode_msg(parser_, body, decode_ping), from);
      case MsgType::IndirectPing:
        return handle_indirect_ping(decode_msg(parser_, body, decode_indirect_ping), from);
      case MsgType::Ack:
        return handle_ack(decode_msg(parser_, body, decode_ack));
      case MsgType::Nack:
        return handle_nack(decode_msg(parser_, body, decode_nack));
      case MsgType::Suspect:
        return suspect_node(decode_msg(parser_, body, decode_suspect));
      case MsgType::Alive: {
        ByteSpill spill;
        auto a = decode_alive_view(parser_.parse(body), spill);
        if (a.node.empty()) throw mp::DecodeError("alive without a name");
        return alive_node(a, false);
      }
      case MsgType::Dead:
        return dead_node(decode_msg(parser_, body, decode_dead));
      case MsgType::User:
        if (delegates_.delegate && !body.empty()) delegates_.delegate->notify_msg(body);
        return;
      default:
        ++stats_.packets_dropped;
        log_limited(drop_log_, "Received unsupported message type " + std::to_string(msg[0]) +
                                   " from " + from.to_string());
        return;
    }
  } catch (const mp::DecodeError& e) {
    ++stats_.packets_dropped;
    if (dynamic_cast<const BadAddressError*>(&e)) ++stats_.dropped(DropReason::BadAddress);
    log_limited(drop_log_, "Dropping message type " + std::to_string(msg[0]) + " from " +
                               from.to_string() + ": " + e.what());
  }
}

void Memberlist::Impl::on_stream(const Address& from, Bytes request, Transport::Respond respond) {
  if (shutdown_) return respond({});
  ++stats_.streams_received;
  // Exactly one answer per stream, even when a handler fails after answering.
  bool answered = false;
  auto answer = [&](Bytes reply) {
    if (answered) return;
    answered = true;
    respond(std::move(reply));
  };
  bool completed = guarded("stream", from, [&] {
    std::string why;
    auto msg = open_stream(request, why);
    if (!msg) {
      ++stats_.streams_dropped;
      log_limited(drop_log_, "Failed to receive stream from " + from.to_string() + ": " + why);
      return answer(seal_stream(encode(ErrResp{why})));
    }
    try {
      handle_stream(*msg, from, answer);
    } catch (const mp::DecodeError& e) {
      ++stats_.streams_dropped;
      if (dynamic_cast<const BadAddressError*>(&e)) ++stats_.dropped(DropReason::BadAddress);
      log_limited(drop_log_, "Failed to handle stream from " + from.to_string() + ": " + e.what());
      answer(seal_stream(encode(ErrResp{e.what()})));
    }
  });
  if (!completed) {
    ++stats_.streams_dropped;
    answer({});
  }
}

void Memberlist::Impl::handle_stream(const Bytes& msg, const Address& from,
                                     const std::function<void(Bytes)>& answer) {
  auto body = std::span(msg).subspan(1);
  switch (static_cast<MsgType>(msg[0])) {
    case MsgType::PushPull: {
      auto remote = decode_remote_state(msg);
      ++stats_.push_pulls;
      answer(seal_stream(encode_local_state(remote.join)));
      std::string error;
      if (!merge_remote_state(remote, error))
        log_->error("Failed push/pull merge from {}: {}", from.to_string(), error);
      return;
    }
    case MsgType::Ping: {
      auto p = decode_msg(parser_, body, decode_ping);
      if (!p.node.empty() && p.node != config_.name) return answer({});
      return answer(seal_stream(encode(Ack{p.seq_no, {}})));
    }
    case MsgType::User: {
      size_t off = 0;
      auto header = decode_user_msg_header(parser_.parse(body, off));
      auto payload = body.subspan(off);
      if (header.user_msg_len < 0 || size_t(header.user_msg_len) > payload.size())
        throw mp::DecodeError("user message shorter than its header says");
      if (delegates_.delegate && header.user_msg_len > 0)
        delegates_.delegate->notify_msg(payload.first(size_t(header.user_msg_len)));
      return answer({});
    }
    default:
      throw mp::DecodeError("invalid stream message type " + std::to_string(msg[0]));
  }
}

std::vector<Bytes> Memberlist::Impl::get_broadcasts(size_t overhead, size_t limit) {
  auto out = broadcasts_.get(overhead, limit);
  if (!delegates_.delegate) return out;
  size_t used = 0;
  for (auto& m : out) used += m.size() + overhead;
  if (limit <= used) return out;
  size_t avail = limit - used;
  if (avail <= overhead + kUserMsgOverhead) return out;
  for (auto& user : delegates_.delegate->get_broadcasts(overhead + kUserMsgOverhead, avail)) {
    Bytes framed{static_cast<uint8_t>(MsgType::User)};
    framed.insert(framed.end(), user.begin(), user.end());
    out.push_back(std::move(framed));
  }
  return out;
}

void Memberlist::Impl::send_msg(const Address& to, Bytes msg) {
  size_t budget = config_.udp_buffer_size;
  size_t used = msg.size() + kCompoundHeaderOverhead + envelope_.packet_overhead();
  std::vector<Bytes> extra =
      used < budget ? get_broadcasts(kCompoundOverhead, budget - used) : std::vector<Bytes>{};
  extra.insert(extra.begin(), std::move(msg));
  send_parts(to, nullptr, std::move(extra));
}

void Memberlist::Impl::send_parts(const Address& to, const Entry* node, std::vector<Bytes> parts) {
  if (parts.empty()) return;
  if (parts.size() > 255) parts.resize(255);
  for (const auto& part : parts) count(stats_.sent, part);  // the compound wrapper is not
  send_packet(to, node, parts.size() == 1 ? std::move(parts[0]) : make_compound(parts));
}

void Memberlist::Impl::send_raw(const Address& to, const Entry* node, Bytes msg) {
  count(stats_.sent, msg);
  send_packet(to, node, std::move(msg));
}

void Memberlist::Impl::send_packet(const Address& to, const Entry* node, Bytes msg) {
  if (shutdown_) return;
  // CRC only when the node is known and speaks protocol 5, exactly when Go adds it.
  bool crc = node && node->pmax() >= 5;
  ++stats_.packets_sent;
  transport_.send_packet(to, envelope_.seal_packet(std::move(msg), crc));
}

void Memberlist::Impl::count(std::array<MessageTally, kGossipMessageTypes>& by_type,
                             std::span<const uint8_t> msg) {
  if (msg.empty() || msg[0] >= kGossipMessageTypes) return;  // unknown types: counted as drops
  auto& t = by_type[msg[0]];
  ++t.messages;
  t.bytes += msg.size();
}

Bytes Memberlist::Impl::seal_stream(const Bytes& msg) {
  count(stats_.sent, msg);
  return envelope_.seal_stream(msg);
}

std::optional<Bytes> Memberlist::Impl::open_stream(std::span<const uint8_t> data,
                                                   std::string& why) {
  auto msg = envelope_.open_stream(data, why);
  if (msg) count(stats_.received, *msg);
  return msg;
}

void Memberlist::Impl::gossip() {
  if (shutdown_) return;
  TimePoint now = sched_.now();
  auto targets = random_nodes(size_t(config_.gossip_nodes), [&](const Entry& e) {
    if (e.name == self_name_) return true;
    switch (e.state) {
      case NodeState::Alive:
      case NodeState::Suspect:
        return false;
      case NodeState::Dead:
        return now - e.state_change > config_.gossip_to_the_dead_time;
      default:
        return true;
    }
  });
  size_t budget = config_.udp_buffer_size - kCompoundHeaderOverhead - envelope_.packet_overhead();
  for (Entry* target : targets) {
    auto msgs = get_broadcasts(kCompoundOverhead, budget);
    if (msgs.empty()) return;
    send_parts(target->addr(), target, std::move(msgs));
  }
}

}  // namespace kc::gossip

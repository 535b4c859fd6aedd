// A bare endpoint on the simulated network for hand-made packets: records the datagrams
// and streams it receives and can send raw bytes.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "agent/gossip/compound.h"
#include "agent/gossip/envelope.h"
#include "agent/gossip/messages.h"
#include "agent/gossip/sim/sim_runtime.h"
#include "common/msgpack/reader.h"

namespace kc::test {

using namespace kc::gossip;

struct RawPeer {
  RawPeer(sim::SimNetwork& net, Address addr) : transport(net.bind(addr)) {
    transport->set_handlers(
        [this](const Address& from, std::span<const uint8_t> data) {
          packets.emplace_back(from, Bytes(data.begin(), data.end()));
        },
        [this](const Address& from, Bytes request, Transport::Respond respond) {
          streams.emplace_back(from, std::move(request));
          respond({});
        });
  }
  // Acks among the received packets (compound and compressed unwrapped).
  std::vector<Ack> acks() const {
    std::vector<Ack> out;
    Envelope env(true, nullptr);
    for (auto& [from, data] : packets) collect(env, data, out);
    return out;
  }
  static void collect(const Envelope& env, std::span<const uint8_t> msg, std::vector<Ack>& out) {
    std::string why;
    auto plain = env.open_packet(msg, why);
    if (!plain || plain->empty()) return;
    auto body = std::span(*plain).subspan(1);
    switch (static_cast<MsgType>((*plain)[0])) {
      case MsgType::Ack:
        out.push_back(decode_ack(kc::mp::Document::parse(body).root()));
        break;
      case MsgType::Compound:
        if (auto parts = split_compound(body))
          for (auto part : parts->parts) collect(env, part, out);
        break;
      case MsgType::Compress:
        if (auto inner = decompress_message(body, 1 << 20)) collect(env, *inner, out);
        break;
      default:
        break;
    }
  }
  std::unique_ptr<Transport> transport;
  std::vector<std::pair<Address, Bytes>> packets;
  std::vector<std::pair<Address, Bytes>> streams;  // inbound connections (push/pulls, ...)
};

}  // namespace kc::test

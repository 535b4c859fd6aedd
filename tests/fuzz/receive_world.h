// The whole receive path under fuzzing: a live Serf (with its memberlist) on the gossip
// simulator, fed a sequence of datagrams and streams decoded from the fuzzer's bytes, with
// the virtual clock advanced between them so timers (probes, ack timeouts, suspicion, query
// deadlines, reaping) run on whatever state the earlier steps built.
//
// Input: flags byte, then records [op][len][len bytes]...
//   flags bit 0  the cluster is encrypted with a fixed test key; a record is sealed with it
//                unless its op has bit 7 set (then sent raw, to reach the decrypt failures)
//   flags bit 1  a real Serf peer (10.0.0.2) joins first, so relays, acks, probes and
//                queries have a live member to act on
//   op bits 0-1  sender: 10.0.0.3, 10.0.0.4, or the peer's address (spoofed), or 10.0.0.3
//   op bit 6     wait: after delivery the clock runs 1..8 s instead of 50 ms
// The target decides whether records are datagrams or streams (framed as the real transport
// frames them, with stream_message_length).
//
// Everything stays in process: the simulator's network has no sockets, so the random member
// addresses in fuzzed input reach nothing real. Two things abort (a finding): an exception
// caught at the receive boundary (handler_error drops), and any send to an address that is
// not a 4- or 16-byte IP (the real transport would have refused it: bad input got through).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>

#include "agent/gossip/crypto/keyring.h"
#include "agent/gossip/envelope.h"
#include "agent/gossip/sim/sim_runtime.h"
#include "agent/serf/serf.h"
#include "common/logging.h"
#include "common/msgpack/reader.h"

namespace kc::fuzz {

using namespace kc::gossip;

enum class Channel { Datagram, Stream };

class ReceiveWorld {
 public:
  static constexpr size_t kMaxRecords = 24;

  ReceiveWorld(bool encrypted, bool with_peer) {
    // Quiet: every input logs its drops, and the fuzzer runs millions of them.
    for (const char* component : {"memberlist", "serf"})
      kc::log::get(component)->set_level(spdlog::level::off);
    if (encrypted) {
      keyring_ = std::make_shared<Keyring>();
      keyring_->add_key(test_key());
    }
    envelope_ = std::make_unique<Envelope>(true, keyring_);
    self_ = start_member("fuzzed", kSelf);
    if (with_peer) {
      peer_ = start_member("peer", kPeer);
      peer_->node->join({kSelf.to_string()}, false, nullptr);
      clock_.run_for(std::chrono::seconds(1));
    }
    senders_[0] = net_.bind(Address{{10, 0, 0, 3}, 7946});
    senders_[1] = net_.bind(Address{{10, 0, 0, 4}, 7946});
  }

  // One record from `sender` (0..3, see above) on `channel`.
  void deliver(Channel channel, uint8_t op, std::span<const uint8_t> bytes) {
    Bytes data(bytes.begin(), bytes.end());
    bool raw = (op & 0x80) != 0;
    if (keyring_ && !raw) {
      data = channel == Channel::Datagram ? envelope_->seal_packet(std::move(data), op & 0x20)
                                          : envelope_->seal_stream(data);
    }
    Transport& from = sender(op & 3);
    if (channel == Channel::Datagram) {
      from.send_packet(kSelf, std::move(data));
    } else {
      // As the real transport reads a stream: only a complete first message is handled.
      std::optional<size_t> length;
      try {
        length = stream_message_length(data);
      } catch (const kc::mp::DecodeError&) {
      }
      if (length) {
        data.resize(*length);
        from.stream_request(kSelf, std::move(data), true, std::chrono::seconds(2),
                            [](std::optional<Bytes>, std::string) {});
      }
    }
    auto wait =
        (op & 0x40) ? std::chrono::seconds(1 + ((op >> 2) & 7)) : std::chrono::milliseconds(50);
    clock_.run_for(wait);
    check();
  }

  // Lets every pending timer of the sequence run, then checks once more.
  void settle() {
    clock_.run_for(std::chrono::seconds(5));
    check();
  }

  static Bytes test_key() { return Bytes(16, 0x42); }

 private:
  struct Member {
    std::unique_ptr<Transport> transport;
    std::unique_ptr<kc::serf::Serf> node;
  };
  static inline const Address kSelf{{10, 0, 0, 1}, 7946};
  static inline const Address kPeer{{10, 0, 0, 2}, 7946};

  std::unique_ptr<Member> start_member(const std::string& name, const Address& addr) {
    auto m = std::make_unique<Member>();
    kc::serf::Config c;
    c.node_name = name;
    c.memberlist.advertise = addr;
    c.seed = 7;
    m->transport = net_.bind(addr);
    m->node = std::make_unique<kc::serf::Serf>(c, clock_, *m->transport, keyring_);
    m->node->subscribe([](const kc::serf::Event&) {});
    m->node->start();
    return m;
  }

  Transport& sender(int i) {
    if (i == 2 && peer_) return *peer_->transport;  // from the peer's own address
    return *senders_[i & 1];
  }

  void check() {
    auto& stats = self_->node->memberlist().memberlist()->stats();
    if (auto n = stats.dropped(DropReason::HandlerError)) {
      std::fprintf(stderr, "finding: %llu exception(s) reached the receive boundary\n",
                   static_cast<unsigned long long>(n));
      std::abort();
    }
    if (auto n = net_.stats().invalid_destinations) {
      std::fprintf(stderr, "finding: %llu send(s) to an address that is not an IP\n",
                   static_cast<unsigned long long>(n));
      std::abort();
    }
  }

  sim::SimClock clock_;
  sim::SimNetwork net_{clock_, 1};
  std::shared_ptr<Keyring> keyring_;
  std::unique_ptr<Envelope> envelope_;
  std::unique_ptr<Member> self_, peer_;
  std::unique_ptr<Transport> senders_[2];
};

// Runs one fuzz input through a fresh world (independent inputs, replayable from one file).
inline void run_receive_sequence(Channel channel, const uint8_t* data, size_t size) {
  if (size == 0) return;
  ReceiveWorld world(data[0] & 1, data[0] & 2);
  size_t off = 1;
  for (size_t n = 0; n < ReceiveWorld::kMaxRecords && off + 2 <= size; ++n) {
    uint8_t op = data[off];
    size_t len = data[off + 1];
    if (len == 0xff && off + 4 <= size) {  // long form: u16 little-endian length follows
      len = size_t(data[off + 2]) | size_t(data[off + 3]) << 8;
      off += 2;
    }
    off += 2;
    len = std::min(len, size - off);
    world.deliver(channel, op, std::span(data + off, len));
    off += len;
  }
  world.settle();
}

}  // namespace kc::fuzz

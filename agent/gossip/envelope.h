// The layers around a memberlist message on the wire (docs/wire.md, "Packet pipeline" and
// "Streams"):
//   UDP:  msg → compress (only if shorter) → CRC (peers with PMax ≥ 5) → encrypt (keyring)
//   TCP:  msg → compress (always, if enabled) → encrypt as a 0a length frame
// and back. Malformed input gives an error string (the caller counts a drop), never a crash.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "agent/gossip/types.h"

namespace kc::gossip {

class Keyring;

// LZW output limit when unwrapping: Go reads at most 64 KiB datagrams and 20 MiB streams.
inline constexpr size_t kMaxPacketExpansion = 4 << 20;
inline constexpr size_t kMaxStreamBytes = 20 << 20;

class Envelope {
 public:
  Envelope(bool compression, std::shared_ptr<Keyring> keyring)
      : compression_(compression), keyring_(std::move(keyring)) {}

  bool encrypted() const;
  // Bytes an encrypted UDP packet adds (for the piggyback budget).
  size_t packet_overhead() const;

  Bytes seal_packet(Bytes msg, bool crc) const;
  // The plain message (starting with its type byte), or nullopt with `why` set.
  std::optional<Bytes> open_packet(std::span<const uint8_t> datagram, std::string& why) const;

  Bytes seal_stream(const Bytes& msg) const;
  // A complete stream message as read off the wire → the plain message (type byte first).
  std::optional<Bytes> open_stream(std::span<const uint8_t> data, std::string& why) const;

 private:
  bool compression_;
  std::shared_ptr<Keyring> keyring_;
};

// 09 + compress{Algo 0, Buf lzw(msg)}.
Bytes compress_message(std::span<const uint8_t> msg);
// Body after the 09 type byte → the decompressed message; nullopt when malformed.
std::optional<Bytes> decompress_message(std::span<const uint8_t> body, size_t max_output);

// How many bytes of `data` (a stream as read so far) make up its first complete message:
// nullopt = need more bytes. Throws kc::mp::DecodeError when the data cannot be a message.
std::optional<size_t> stream_message_length(std::span<const uint8_t> data);

}  // namespace kc::gossip

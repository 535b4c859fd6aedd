#include "agent/gossip/envelope.h"

#include "agent/gossip/codec/crc.h"
#include "agent/gossip/codec/lzw.h"
#include "agent/gossip/crypto/aes_gcm.h"
#include "agent/gossip/crypto/keyring.h"
#include "agent/gossip/messages.h"
#include "common/msgpack/reader.h"

namespace kc::gossip {

bool Envelope::encrypted() const {
  return keyring_ && !keyring_->empty();
}

size_t Envelope::packet_overhead() const {
  return encrypted() ? 29 : 0;
}

Bytes compress_message(std::span<const uint8_t> msg) {
  return encode(Compress{0, lzw_compress(msg)});
}

std::optional<Bytes> decompress_message(std::span<const uint8_t> body, size_t max_output) {
  try {
    auto c = decode_compress(mp::Document::parse(body).root());
    if (c.algo != 0) return std::nullopt;
    auto out = lzw_decompress(c.buf, max_output);
    if (!out || out->empty()) return std::nullopt;
    return out;
  } catch (const mp::DecodeError&) {
    return std::nullopt;
  }
}

Bytes Envelope::seal_packet(Bytes msg, bool crc) const {
  if (compression_) {
    Bytes compressed = compress_message(msg);
    if (compressed.size() < msg.size()) msg = std::move(compressed);
  }
  if (crc) msg = wrap_crc(msg);
  if (encrypted()) msg = encrypt_udp(keyring_->primary(), msg);
  return msg;
}

std::optional<Bytes> Envelope::open_packet(std::span<const uint8_t> datagram,
                                           std::string& why) const {
  Bytes plain;
  if (encrypted()) {
    auto decrypted = decrypt_udp(*keyring_, datagram);
    if (!decrypted) {
      why = "no installed keys could decrypt the message";
      return std::nullopt;
    }
    plain = std::move(*decrypted);
  } else {
    plain.assign(datagram.begin(), datagram.end());
  }
  if (!plain.empty() && plain[0] == static_cast<uint8_t>(MsgType::HasCrc)) {
    auto inner = unwrap_crc(plain);
    if (!inner) {
      why = "bad CRC";
      return std::nullopt;
    }
    plain = Bytes(inner->begin(), inner->end());
  }
  if (plain.empty()) {
    why = "empty message";
    return std::nullopt;
  }
  return plain;
}

Bytes Envelope::seal_stream(const Bytes& msg) const {
  Bytes out = compression_ ? compress_message(msg) : msg;
  if (encrypted()) out = encrypt_stream_frame(keyring_->primary(), out);
  return out;
}

std::optional<Bytes> Envelope::open_stream(std::span<const uint8_t> data, std::string& why) const {
  if (data.empty()) {
    why = "empty stream";
    return std::nullopt;
  }
  Bytes plain;
  if (data[0] == static_cast<uint8_t>(MsgType::Encrypt)) {
    if (!encrypted()) {
      why = "Remote state is encrypted and encryption is not configured";
      return std::nullopt;
    }
    if (data.size() < 5) {
      why = "truncated encrypted frame";
      return std::nullopt;
    }
    auto decrypted = decrypt_stream_frame(*keyring_, data.subspan(0, 5), data.subspan(5));
    if (!decrypted) {
      why = "no installed keys could decrypt the stream";
      return std::nullopt;
    }
    plain = std::move(*decrypted);
  } else if (encrypted()) {
    why = "Encryption is configured but remote state is not encrypted";
    return std::nullopt;
  } else {
    plain.assign(data.begin(), data.end());
  }
  if (!plain.empty() && plain[0] == static_cast<uint8_t>(MsgType::Compress)) {
    auto inflated = decompress_message(std::span(plain).subspan(1), kMaxStreamBytes);
    if (!inflated) {
      why = "failed to decompress stream";
      return std::nullopt;
    }
    plain = std::move(*inflated);
  }
  if (plain.empty()) {
    why = "empty stream message";
    return std::nullopt;
  }
  return plain;
}

namespace {

// Skips one msgpack object at `off`; nullopt when incomplete.
bool skip_object(std::span<const uint8_t> data, size_t& off, mp::Document* out = nullptr) {
  try {
    auto doc = mp::Document::parse(data, off);
    if (out) *out = doc;
    return true;
  } catch (const mp::NeedMoreData&) {
    return false;
  }
}

}  // namespace

std::optional<size_t> stream_message_length(std::span<const uint8_t> data) {
  if (data.empty()) return std::nullopt;
  size_t off = 1;
  switch (static_cast<MsgType>(data[0])) {
    case MsgType::Encrypt: {
      if (data.size() < 5) return std::nullopt;
      size_t len = (size_t(data[1]) << 24) | (size_t(data[2]) << 16) | (size_t(data[3]) << 8) |
                   size_t(data[4]);
      if (len > kMaxStreamBytes) throw mp::DecodeError("encrypted stream frame too large");
      if (data.size() < 5 + len) return std::nullopt;
      return 5 + len;
    }
    case MsgType::Compress:
    case MsgType::Ping:
    case MsgType::Ack:
    case MsgType::Err:
      if (!skip_object(data, off)) return std::nullopt;
      return off;
    case MsgType::PushPull: {
      mp::Document header;
      if (!skip_object(data, off, &header)) return std::nullopt;
      auto h = decode_push_pull_header(header.root());
      if (h.nodes < 0 || h.user_state_len < 0 || h.user_state_len > int64_t(kMaxStreamBytes) ||
          h.nodes > (1 << 20))
        throw mp::DecodeError("push/pull header out of range");
      for (int64_t i = 0; i < h.nodes; ++i)
        if (!skip_object(data, off)) return std::nullopt;
      if (data.size() < off + size_t(h.user_state_len)) return std::nullopt;
      return off + size_t(h.user_state_len);
    }
    case MsgType::User: {
      mp::Document header;
      if (!skip_object(data, off, &header)) return std::nullopt;
      auto h = decode_user_msg_header(header.root());
      if (h.user_msg_len < 0 || h.user_msg_len > int64_t(kMaxStreamBytes))
        throw mp::DecodeError("user message length out of range");
      if (data.size() < off + size_t(h.user_msg_len)) return std::nullopt;
      return off + size_t(h.user_msg_len);
    }
    default:
      throw mp::DecodeError("unknown stream message type " + std::to_string(data[0]));
  }
}

}  // namespace kc::gossip

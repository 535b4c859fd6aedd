// A socket read buffer whose bytes start uninitialised: only what a read writes is touched, so
// the 64 KiB datagram buffer costs the pages of the largest packet received (gossip packets are
// under 1.4 KiB), not all 16 of them as a zeroed std::array would, and a stream's buffer only
// what the stream sent.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace kc::gossip {

template <size_t N>
class ReadBuffer {
 public:
  uint8_t* data() { return bytes_.get(); }
  static constexpr size_t size() { return N; }
  boost::asio::mutable_buffer buffer() { return boost::asio::buffer(bytes_.get(), N); }

 private:
  std::unique_ptr<uint8_t[]> bytes_ = std::make_unique_for_overwrite<uint8_t[]>(N);
};

}  // namespace kc::gossip

// LZW exactly as Go's compress/lzw with order LSB and literal width 8, the algorithm of
// memberlist's compress message (docs/wire.md, "Compression"). The encoder output is byte-identical
// to Go 1.19 (leading clear code, EOF code, table reset at code 4095) so that our packets look like
// Go's; the decoder accepts exactly what Go's reader accepts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kc::gossip {

// lzw.NewWriter(w, LSB, 8), one Write(input), Close().
std::vector<uint8_t> lzw_compress(std::span<const uint8_t> input);

// lzw.NewReader(r, LSB, 8) read to the end. nullopt when the code stream is malformed
// (invalid code), ends before the EOF code (Go: unexpected EOF), or would produce more than
// max_output bytes: LZW expands up to ~2700x, so a peer's 64 KiB datagram must not become
// gigabytes. Bytes after the EOF code are ignored, as in Go.
std::optional<std::vector<uint8_t>> lzw_decompress(std::span<const uint8_t> input,
                                                   size_t max_output);

}  // namespace kc::gossip

#include "common/msgpack/writer.h"

#include <bit>
#include <cstring>

namespace kc::mp {

void Writer::put_be(uint64_t v, int nbytes) {
  for (int i = nbytes - 1; i >= 0; --i) put(static_cast<uint8_t>(v >> (8 * i)));
}

Writer& Writer::map(size_t entries) {
  if (entries < 16) {
    put(static_cast<uint8_t>(0x80 | entries));
  } else if (entries <= 0xffff) {
    put(0xde);
    put_be(entries, 2);
  } else {
    put(0xdf);
    put_be(entries, 4);
  }
  return *this;
}

Writer& Writer::array(size_t elements) {
  if (elements < 16) {
    put(static_cast<uint8_t>(0x90 | elements));
  } else if (elements <= 0xffff) {
    put(0xdc);
    put_be(elements, 2);
  } else {
    put(0xdd);
    put_be(elements, 4);
  }
  return *this;
}

void Writer::raw_header(size_t len) {
  if (len < 32) {
    put(static_cast<uint8_t>(0xa0 | len));
  } else if (len <= 0xff && dialect_ == Dialect::Rpc) {
    put(0xd9);  // str8 exists only in the RPC dialect (RawToString handle)
    put_be(len, 1);
  } else if (len <= 0xffff) {
    put(0xda);
    put_be(len, 2);
  } else {
    put(0xdb);
    put_be(len, 4);
  }
}

Writer& Writer::str(std::string_view s) {
  raw_header(s.size());
  out_.insert(out_.end(), s.begin(), s.end());
  return *this;
}

Writer& Writer::bytes(std::span<const uint8_t> b) {
  if (dialect_ == Dialect::Gossip) {
    raw_header(b.size());
  } else if (b.size() <= 0xff) {
    put(0xc4);
    put_be(b.size(), 1);
  } else if (b.size() <= 0xffff) {
    put(0xc5);
    put_be(b.size(), 2);
  } else {
    put(0xc6);
    put_be(b.size(), 4);
  }
  out_.insert(out_.end(), b.begin(), b.end());
  return *this;
}

Writer& Writer::bytes_or_nil(std::span<const uint8_t> b) {
  return b.empty() ? nil() : bytes(b);
}

Writer& Writer::uint(uint64_t v) {
  if (v < 0x80) {
    put(static_cast<uint8_t>(v));
  } else if (v <= 0xff) {
    put(0xcc);
    put_be(v, 1);
  } else if (v <= 0xffff) {
    put(0xcd);
    put_be(v, 2);
  } else if (v <= 0xffffffffULL) {
    put(0xce);
    put_be(v, 4);
  } else {
    put(0xcf);
    put_be(v, 8);
  }
  return *this;
}

Writer& Writer::sint(int64_t v) {
  if (v >= 0) return uint(static_cast<uint64_t>(v));
  if (v >= -32) {
    put(static_cast<uint8_t>(v));
  } else if (v >= INT8_MIN) {
    put(0xd0);
    put_be(static_cast<uint8_t>(v), 1);
  } else if (v >= INT16_MIN) {
    put(0xd1);
    put_be(static_cast<uint16_t>(v), 2);
  } else if (v >= INT32_MIN) {
    put(0xd2);
    put_be(static_cast<uint32_t>(v), 4);
  } else {
    put(0xd3);
    put_be(static_cast<uint64_t>(v), 8);
  }
  return *this;
}

Writer& Writer::boolean(bool v) {
  put(v ? 0xc3 : 0xc2);
  return *this;
}

Writer& Writer::f64(double v) {
  put(0xcb);
  put_be(std::bit_cast<uint64_t>(v), 8);
  return *this;
}

Writer& Writer::nil() {
  put(0xc0);
  return *this;
}

Writer& Writer::raw(std::span<const uint8_t> b) {
  out_.insert(out_.end(), b.begin(), b.end());
  return *this;
}

}  // namespace kc::mp

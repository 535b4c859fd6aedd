#include "common/msgpack/reader.h"

#include <cmath>
#include <cstring>

namespace kc::mp {

msgpack::unpack_limit network_limits() {
  return msgpack::unpack_limit(/*array=*/1 << 20, /*map=*/1 << 20, /*str=*/20 << 20,
                               /*bin=*/20 << 20, /*ext=*/1 << 16, /*depth=*/32);
}

namespace {

// msgpack-cxx's exceptions as this module's: the end of the input, or malformed input.
template <typename Unpack>
void translating_errors(std::span<const uint8_t> data, size_t offset, Unpack unpack) {
  if (offset >= data.size()) throw NeedMoreData();
  try {
    unpack();
  } catch (const msgpack::insufficient_bytes&) {
    throw NeedMoreData();
  } catch (const std::bad_alloc&) {
    throw DecodeError("msgpack: object too large");
  } catch (const std::exception& e) {
    throw DecodeError(std::string("msgpack: ") + e.what());
  }
}

// Strings and binaries stay in the input instead of being copied into the zone.
bool reference_input(msgpack::type::object_type /*type*/, size_t /*size*/, void* /*user*/) {
  return true;
}

}  // namespace

Document Document::parse(std::span<const uint8_t> data, size_t& offset) {
  Document doc;
  translating_errors(data, offset, [&] {
    doc.handle_ = std::make_shared<msgpack::object_handle>(
        msgpack::unpack(reinterpret_cast<const char*>(data.data()), data.size(), offset, nullptr,
                        nullptr, network_limits()));
  });
  return doc;
}

Value Parser::parse(std::span<const uint8_t> data, size_t& offset) {
  zone_.clear();  // keeps its first chunk: the next object is decoded without a malloc
  translating_errors(data, offset, [&] {
    root_ = msgpack::unpack(zone_, reinterpret_cast<const char*>(data.data()), data.size(), offset,
                            reference_input, nullptr, network_limits());
  });
  return Value(&root_);
}

void Value::require(bool ok, const char* what) {
  if (!ok) throw DecodeError(std::string("msgpack: expected ") + what);
}

bool Value::is_nil() const {
  return !o_ || o_->type == msgpack::type::NIL;
}
bool Value::is_map() const {
  return o_ && o_->type == msgpack::type::MAP;
}
bool Value::is_array() const {
  return o_ && o_->type == msgpack::type::ARRAY;
}

std::string Value::string() const {
  return std::string(string_view());
}

std::string_view Value::string_view() const {
  if (is_nil()) return {};
  require(o_->type == msgpack::type::STR, "string");
  return {o_->via.str.ptr, o_->via.str.size};
}

std::optional<std::span<const uint8_t>> Value::byte_view() const {
  if (is_nil()) return std::span<const uint8_t>();
  if (o_->type == msgpack::type::STR)
    return std::span(reinterpret_cast<const uint8_t*>(o_->via.str.ptr), o_->via.str.size);
  if (o_->type == msgpack::type::BIN)
    return std::span(reinterpret_cast<const uint8_t*>(o_->via.bin.ptr), o_->via.bin.size);
  return std::nullopt;
}

Bytes Value::bytes() const {
  if (auto in_place = byte_view()) return Bytes(in_place->begin(), in_place->end());
  require(o_->type == msgpack::type::ARRAY, "bytes");
  Bytes out;
  for (auto& v : items()) out.push_back(v.u8());
  return out;
}

uint64_t Value::uint(uint64_t max) const {
  if (is_nil()) return 0;
  if (o_->type == msgpack::type::POSITIVE_INTEGER) {
    require(o_->via.u64 <= max, "integer in range");
    return o_->via.u64;
  }
  require(o_->type == msgpack::type::NEGATIVE_INTEGER, "unsigned integer");
  throw DecodeError("msgpack: negative value for unsigned field");
}

int64_t Value::sint() const {
  if (is_nil()) return 0;
  if (o_->type == msgpack::type::NEGATIVE_INTEGER) return o_->via.i64;
  require(o_->type == msgpack::type::POSITIVE_INTEGER, "integer");
  require(o_->via.u64 <= static_cast<uint64_t>(INT64_MAX), "integer in range");
  return static_cast<int64_t>(o_->via.u64);
}

bool Value::boolean() const {
  if (is_nil()) return false;
  if (o_->type == msgpack::type::BOOLEAN) return o_->via.boolean;
  require(o_->type == msgpack::type::POSITIVE_INTEGER && o_->via.u64 <= 1, "bool");
  return o_->via.u64 == 1;
}

double Value::f64() const {
  if (is_nil()) return 0;
  switch (o_->type) {
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o_->via.f64;
    case msgpack::type::POSITIVE_INTEGER:
      return static_cast<double>(o_->via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return static_cast<double>(o_->via.i64);
    default:
      throw DecodeError("msgpack: expected float");
  }
}

Value Value::get(std::string_view key) const {
  if (is_nil()) return {};
  require(is_map(), "map");
  const auto& m = o_->via.map;
  for (uint32_t i = 0; i < m.size; ++i) {
    const auto& k = m.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
      return Value(&m.ptr[i].val);
  }
  return {};
}

bool Value::has(std::string_view key) const {
  return !get(key).is_nil();
}

std::vector<Value> Value::items() const {
  if (is_nil()) return {};
  require(is_array(), "array");
  std::vector<Value> out;
  out.reserve(o_->via.array.size);
  for (uint32_t i = 0; i < o_->via.array.size; ++i) out.emplace_back(&o_->via.array.ptr[i]);
  return out;
}

std::vector<std::pair<std::string, Value>> Value::entries() const {
  if (is_nil()) return {};
  require(is_map(), "map");
  std::vector<std::pair<std::string, Value>> out;
  const auto& m = o_->via.map;
  for (uint32_t i = 0; i < m.size; ++i) {
    out.emplace_back(Value(&m.ptr[i].key).string(), Value(&m.ptr[i].val));
  }
  return out;
}

}  // namespace kc::mp

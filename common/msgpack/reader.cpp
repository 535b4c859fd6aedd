#include "common/msgpack/reader.h"

#include <cmath>
#include <cstring>

namespace kc::mp {

msgpack::unpack_limit network_limits() {
  return msgpack::unpack_limit(/*array=*/1 << 20, /*map=*/1 << 20, /*str=*/20 << 20,
                               /*bin=*/20 << 20, /*ext=*/1 << 16, /*depth=*/32);
}

Document Document::parse(std::span<const uint8_t> data, size_t& offset) {
  if (offset >= data.size()) throw NeedMoreData();
  Document doc;
  try {
    doc.handle_ = std::make_shared<msgpack::object_handle>(
        msgpack::unpack(reinterpret_cast<const char*>(data.data()), data.size(), offset, nullptr,
                        nullptr, network_limits()));
  } catch (const msgpack::insufficient_bytes&) {
    throw NeedMoreData();
  } catch (const std::bad_alloc&) {
    throw DecodeError("msgpack: object too large");
  } catch (const std::exception& e) {
    throw DecodeError(std::string("msgpack: ") + e.what());
  }
  return doc;
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
  if (is_nil()) return {};
  require(o_->type == msgpack::type::STR, "string");
  return std::string(o_->via.str.ptr, o_->via.str.size);
}

Bytes Value::bytes() const {
  if (is_nil()) return {};
  if (o_->type == msgpack::type::STR)
    return Bytes(o_->via.str.ptr, o_->via.str.ptr + o_->via.str.size);
  if (o_->type == msgpack::type::BIN)
    return Bytes(o_->via.bin.ptr, o_->via.bin.ptr + o_->via.bin.size);
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

#include "datastore/pg_wire.h"

#include <cstdio>

namespace kc::datastore::wire {

namespace {

constexpr int32_t kProtocolVersion3 = 3 << 16;
constexpr int32_t kSslRequestCode = (1234 << 16) | 5679;

void put_int32(std::string& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xff));
}

void put_int16(std::string& out, int16_t v) {
  auto u = static_cast<uint16_t>(v);
  out.push_back(static_cast<char>(u >> 8));
  out.push_back(static_cast<char>(u & 0xff));
}

void put_cstring(std::string& out, std::string_view s) {
  if (s.find('\0') != std::string_view::npos)
    throw std::invalid_argument("a protocol string may not contain a NUL byte");
  out.append(s);
  out.push_back('\0');
}

void put_length_prefixed(std::string& out, std::string_view bytes) {
  if (bytes.size() > kMaxMessage) throw std::invalid_argument("value too large to send");
  put_int32(out, static_cast<int32_t>(bytes.size()));
  out.append(bytes);
}

// Writes the type byte and a length placeholder; finish() fills the length in.
class Framed {
 public:
  Framed(std::string& out, char type) : out_(out) {
    if (type) out_.push_back(type);
    start_ = out_.size();
    put_int32(out_, 0);
  }
  ~Framed() {
    auto len = static_cast<uint32_t>(out_.size() - start_);
    for (int i = 0; i < 4; ++i)
      out_[start_ + static_cast<size_t>(i)] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
  }
  Framed(const Framed&) = delete;
  Framed& operator=(const Framed&) = delete;

 private:
  std::string& out_;
  size_t start_ = 0;
};

uint32_t read_be32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

void startup_message(std::string& out,
                     const std::vector<std::pair<std::string, std::string>>& parameters) {
  Framed f(out, 0);  // the startup packet alone has no type byte
  put_int32(out, kProtocolVersion3);
  for (auto& [key, value] : parameters) {
    put_cstring(out, key);
    put_cstring(out, value);
  }
  out.push_back('\0');
}

void ssl_request(std::string& out) {
  Framed f(out, 0);
  put_int32(out, kSslRequestCode);
}

void password_message(std::string& out, std::string_view password) {
  Framed f(out, 'p');
  put_cstring(out, password);
}

void sasl_initial_response(std::string& out, std::string_view mechanism, std::string_view data) {
  Framed f(out, 'p');
  put_cstring(out, mechanism);
  put_length_prefixed(out, data);
}

void sasl_response(std::string& out, std::string_view data) {
  Framed f(out, 'p');
  out.append(data);
}

void parse(std::string& out, std::string_view sql) {
  Framed f(out, 'P');
  put_cstring(out, "");  // the unnamed statement
  put_cstring(out, sql);
  put_int16(out, 0);  // no parameter types given: the server infers them
}

void bind(std::string& out, const std::vector<Param>& parameters) {
  if (parameters.size() > 32767) throw std::invalid_argument("too many statement parameters");
  Framed f(out, 'B');
  put_cstring(out, "");  // unnamed portal
  put_cstring(out, "");  // unnamed statement
  put_int16(out, 0);     // every parameter in text format
  put_int16(out, static_cast<int16_t>(parameters.size()));
  for (auto& p : parameters) {
    if (p)
      put_length_prefixed(out, *p);
    else
      put_int32(out, -1);  // SQL NULL
  }
  put_int16(out, 0);  // every result column in text format
}

void describe_portal(std::string& out) {
  Framed f(out, 'D');
  out.push_back('P');
  put_cstring(out, "");
}

void execute(std::string& out) {
  Framed f(out, 'E');
  put_cstring(out, "");
  put_int32(out, 0);  // no row limit
}

void sync(std::string& out) {
  Framed f(out, 'S');
}

void terminate(std::string& out) {
  Framed f(out, 'X');
}

void Decoder::feed(std::string_view bytes) {
  // Drop what was already handed out before growing, so the buffer holds at most one
  // partial message plus the new bytes.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Message> Decoder::next() {
  size_t available = buffer_.size() - consumed_;
  if (available < 5) return std::nullopt;
  const char* head = buffer_.data() + consumed_;
  uint32_t length = read_be32(head + 1);  // counts itself, not the type byte
  if (length < 4)
    throw ProtocolError("message " + type_name(head[0]) + " has an invalid length " +
                        std::to_string(length));
  if (length - 4 > max_message_)
    throw ProtocolError("message " + type_name(head[0]) + " of " + std::to_string(length) +
                        " bytes exceeds the limit of " + std::to_string(max_message_));
  if (available < 1 + size_t{length}) return std::nullopt;
  Message m;
  m.type = head[0];
  m.body.assign(head + 5, length - 4);
  consumed_ += 1 + size_t{length};
  return m;
}

int16_t Reader::int16() {
  auto b = bytes(2);
  return static_cast<int16_t>((static_cast<unsigned char>(b[0]) << 8) |
                              static_cast<unsigned char>(b[1]));
}

int32_t Reader::int32() {
  return static_cast<int32_t>(read_be32(bytes(4).data()));
}

uint8_t Reader::byte() {
  return static_cast<uint8_t>(bytes(1)[0]);
}

std::string_view Reader::cstring() {
  auto end = body_.find('\0', pos_);
  if (end == std::string_view::npos) truncated("an unterminated string");
  auto s = body_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return s;
}

std::string_view Reader::bytes(size_t n) {
  if (n > body_.size() - pos_) truncated("a truncated field");
  auto s = body_.substr(pos_, n);
  pos_ += n;
  return s;
}

std::string_view Reader::rest() {
  return bytes(body_.size() - pos_);
}

void Reader::expect_end() const {
  if (!at_end())
    throw ProtocolError("message " + type_name(type_) + " has " +
                        std::to_string(body_.size() - pos_) + " unexpected trailing bytes");
}

void Reader::truncated(const char* what) const {
  throw ProtocolError("message " + type_name(type_) + " has " + what);
}

std::string type_name(char type) {
  auto c = static_cast<unsigned char>(type);
  if (c >= 0x21 && c < 0x7f) return std::string("'") + type + "'";
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", c);
  return hex;
}

}  // namespace kc::datastore::wire

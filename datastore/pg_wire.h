// The PostgreSQL frontend/backend protocol, version 3.0, at the level of bytes: encoders for
// the messages the client sends, and an incremental decoder that cuts the server's byte
// stream into messages without trusting any length it reads. What the messages mean, and
// which are allowed when, is pg_protocol.h's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "datastore/pg_result.h"

namespace kc::datastore::wire {

// The server sent something the protocol does not allow: the connection cannot go on.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// No legitimate answer to our statements comes near this; a larger length is hostile or a
// desynchronised stream.
constexpr size_t kMaxMessage = size_t{16} * 1024 * 1024;

// Encoders: each appends one message to `out`. A string sent as a C string must not hold a
// NUL byte (std::invalid_argument): the server would cut it there.
void startup_message(std::string& out,
                     const std::vector<std::pair<std::string, std::string>>& parameters);
void ssl_request(std::string& out);
void password_message(std::string& out, std::string_view password);
void sasl_initial_response(std::string& out, std::string_view mechanism, std::string_view data);
void sasl_response(std::string& out, std::string_view data);
// The unnamed statement and portal; parameter types left to the server, everything in text.
void parse(std::string& out, std::string_view sql);
void bind(std::string& out, const std::vector<Param>& parameters);
void describe_portal(std::string& out);
void execute(std::string& out);
void sync(std::string& out);
void terminate(std::string& out);

struct Message {
  char type = 0;
  std::string body;  // without the type byte and the length
};

// Cuts a byte stream into messages. Bytes may arrive split or merged in any way.
class Decoder {
 public:
  explicit Decoder(size_t max_message = kMaxMessage) : max_message_(max_message) {}
  void feed(std::string_view bytes);
  // The next complete message, or nullopt until more bytes arrive. Throws ProtocolError for
  // a length below 4 or above the limit.
  std::optional<Message> next();

 private:
  size_t max_message_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already returned as messages
};

// Reads the fields of one message body in order; throws ProtocolError when a field would run
// past the end.
class Reader {
 public:
  Reader(char type, std::string_view body) : type_(type), body_(body) {}
  int16_t int16();
  int32_t int32();
  std::string_view cstring();  // up to the next NUL, which is consumed
  std::string_view bytes(size_t n);
  uint8_t byte();
  std::string_view rest();  // everything not read yet
  bool at_end() const { return pos_ == body_.size(); }
  void expect_end() const;  // trailing bytes are a malformed message too

 private:
  [[noreturn]] void truncated(const char* what) const;
  char type_;
  std::string_view body_;
  size_t pos_ = 0;
};

// "'Z'" for a printable type byte, "0x07" otherwise: for error messages.
std::string type_name(char type);

}  // namespace kc::datastore::wire

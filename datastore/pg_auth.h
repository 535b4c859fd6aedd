// Password authentication to Postgres: the MD5 digest and a SCRAM-SHA-256 client (RFC 5802,
// RFC 7677) without channel binding, both on OpenSSL's libcrypto. Cleartext needs no code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace kc::datastore::auth {

// The server's SCRAM messages are malformed, or it failed to prove it knows the password.
class AuthError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What AuthenticationMD5Password asks for: "md5" + md5hex(md5hex(password + user) + salt).
std::string md5_password(std::string_view user, std::string_view password, std::string_view salt);

// One SCRAM-SHA-256 exchange. Postgres takes the user from the startup message and ignores
// SCRAM's, so the client sends an empty one; the password is used as bytes (no SASLprep:
// an ASCII password is unaffected).
class ScramSha256 {
 public:
  // Iteration counts above this would stall the event loop in PBKDF2 (a hostile server's
  // cheap denial of service); Postgres uses 4096 unless told otherwise.
  static constexpr long kMaxIterations = 1'000'000;

  // `nonce` is the client nonce: printable, no ','. Empty means 18 random bytes in base64.
  explicit ScramSha256(std::string password, const std::string& user = "", std::string nonce = "");

  static constexpr const char* kMechanism = "SCRAM-SHA-256";
  // "n,,n=<user>,r=<nonce>"
  std::string client_first() const;
  // Answers the server-first-message with the client-final-message (with the proof).
  std::string client_final(std::string_view server_first);
  // Checks the server-final-message's signature; throws AuthError when it is wrong or an error.
  void verify_server_final(std::string_view server_final) const;

 private:
  std::string password_;
  std::string client_first_bare_;
  std::string nonce_;
  std::string server_signature_;  // expected, raw bytes; set by client_final()
};

std::string base64_encode(std::string_view bytes);
// Throws AuthError for text that is not canonical padded base64.
std::string base64_decode(std::string_view text);

}  // namespace kc::datastore::auth

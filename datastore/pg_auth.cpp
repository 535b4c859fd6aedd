#include "datastore/pg_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <vector>

namespace kc::datastore::auth {

namespace {

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string_view view(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string md5_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr))
    throw AuthError("MD5 is not available in this OpenSSL");
  std::string hex;
  char two[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(two, sizeof two, "%02x", md[i]);
    hex += two;
  }
  return hex;
}

Digest hmac_sha256(std::string_view key, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data), data.size(),
            out.data(), &len))
    throw AuthError("HMAC-SHA-256 failed");
  return out;
}

Digest sha256(std::string_view data) {
  Digest out{};
  SHA256(bytes_of(data), data.size(), out.data());
  return out;
}

// The attributes of a SCRAM message ("r=...,s=...,i=..."), in order.
struct Attribute {
  char name;
  std::string_view value;
};

std::vector<Attribute> attributes(std::string_view message) {
  std::vector<Attribute> out;
  while (!message.empty()) {
    auto comma = message.find(',');
    auto part = message.substr(0, comma);
    if (part.size() < 2 || part[1] != '=')
      throw AuthError("malformed SCRAM message from the server");
    out.push_back({part[0], part.substr(2)});
    if (comma == std::string_view::npos) break;
    message.remove_prefix(comma + 1);
  }
  return out;
}

std::string_view attribute(const std::vector<Attribute>& attrs, size_t index, char name) {
  if (index >= attrs.size() || attrs[index].name != name)
    throw AuthError(std::string("SCRAM message from the server lacks its '") + name +
                    "' attribute");
  return attrs[index].value;
}

}  // namespace

std::string md5_password(std::string_view user, std::string_view password, std::string_view salt) {
  std::string inner = md5_hex(std::string(password) + std::string(user));
  return "md5" + md5_hex(inner + std::string(salt));
}

ScramSha256::ScramSha256(std::string password, const std::string& user, std::string nonce)
    : password_(std::move(password)), nonce_(std::move(nonce)) {
  if (nonce_.empty()) {
    std::array<unsigned char, 18> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
      throw AuthError("no random bytes for the SCRAM nonce");
    nonce_ = base64_encode({reinterpret_cast<const char*>(random.data()), random.size()});
  }
  client_first_bare_ = "n=" + user + ",r=" + nonce_;
}

std::string ScramSha256::client_first() const {
  return "n,," + client_first_bare_;  // "n": the client does not support channel binding
}

std::string ScramSha256::client_final(std::string_view server_first) {
  auto attrs = attributes(server_first);
  std::string_view nonce = attribute(attrs, 0, 'r');
  std::string salt = base64_decode(attribute(attrs, 1, 's'));
  std::string_view iter_text = attribute(attrs, 2, 'i');
  // The server's nonce extends ours; anything else is a replay or a confused server.
  if (nonce.size() <= nonce_.size() || nonce.substr(0, nonce_.size()) != nonce_)
    throw AuthError("the server's SCRAM nonce does not extend the client's");
  long iterations = 0;
  auto [end, ec] =
      std::from_chars(iter_text.data(), iter_text.data() + iter_text.size(), iterations);
  if (ec != std::errc() || end != iter_text.data() + iter_text.size() || iterations < 1 ||
      iterations > kMaxIterations)
    throw AuthError("SCRAM iteration count '" + std::string(iter_text) + "' is not between 1 and " +
                    std::to_string(kMaxIterations));
  if (salt.empty()) throw AuthError("SCRAM salt is empty");

  Digest salted{};
  if (!PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()), bytes_of(salt),
                         static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                         static_cast<int>(salted.size()), salted.data()))
    throw AuthError("PBKDF2 failed");
  Digest client_key = hmac_sha256(view(salted), "Client Key");
  Digest stored_key = sha256(view(client_key));
  std::string without_proof = "c=biws,r=" + std::string(nonce);  // biws = base64("n,,")
  std::string auth_message =
      client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  Digest client_signature = hmac_sha256(view(stored_key), auth_message);
  Digest proof{};
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ client_signature[i];
  Digest server_key = hmac_sha256(view(salted), "Server Key");
  server_signature_ = std::string(view(hmac_sha256(view(server_key), auth_message)));
  OPENSSL_cleanse(salted.data(), salted.size());
  return without_proof + ",p=" + base64_encode(view(proof));
}

void ScramSha256::verify_server_final(std::string_view server_final) const {
  if (server_signature_.empty()) throw AuthError("SCRAM final message before the challenge");
  auto attrs = attributes(server_final);
  if (!attrs.empty() && attrs[0].name == 'e')
    throw AuthError("the server rejected SCRAM authentication: " + std::string(attrs[0].value));
  std::string signature = base64_decode(attribute(attrs, 0, 'v'));
  if (signature.size() != server_signature_.size() ||
      CRYPTO_memcmp(signature.data(), server_signature_.data(), signature.size()) != 0)
    throw AuthError("the server's SCRAM signature is wrong: it does not know the password");
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes_of(bytes),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw AuthError("malformed base64 in a SCRAM message");
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes_of(text),
                          static_cast<int>(text.size()));
  if (n < 0) throw AuthError("malformed base64 in a SCRAM message");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

}  // namespace kc::datastore::auth

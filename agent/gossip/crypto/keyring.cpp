#include "agent/gossip/crypto/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kc::gossip {
namespace {

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

KeyringError Keyring::create(std::span<const EncryptionKey> keys, std::span<const uint8_t> primary,
                             Keyring& out) {
  Keyring ring;
  if (!keys.empty() || !primary.empty()) {
    if (primary.empty()) return "Empty primary key not allowed";
    if (auto err = ring.add_key(primary)) return err;
    for (const auto& key : keys)
      if (auto err = ring.add_key(key)) return err;
  }
  out = std::move(ring);
  return std::nullopt;
}

KeyringError Keyring::validate_key(std::span<const uint8_t> key) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32)
    return "key size must be 16, 24 or 32 bytes";
  return std::nullopt;
}

KeyringError Keyring::add_key(std::span<const uint8_t> key) {
  if (auto err = validate_key(key)) return err;
  if (contains(key)) return std::nullopt;
  keys_.emplace_back(key.begin(), key.end());
  return std::nullopt;
}

KeyringError Keyring::use_key(std::span<const uint8_t> key) {
  auto it = std::find_if(keys_.begin(), keys_.end(), [&](const auto& k) { return same(k, key); });
  if (it == keys_.end()) return "Requested key is not in the keyring";
  std::rotate(keys_.begin(), it, it + 1);
  return std::nullopt;
}

KeyringError Keyring::remove_key(std::span<const uint8_t> key) {
  // Go indexes keys[0] unconditionally (and would panic on an empty ring); an empty ring
  // has nothing to remove, so treat it like an absent key.
  if (keys_.empty()) return std::nullopt;
  if (same(keys_.front(), key)) return "Removing the primary key is not allowed";
  std::erase_if(keys_, [&](const auto& k) { return same(k, key); });
  return std::nullopt;
}

std::span<const uint8_t> Keyring::primary() const {
  if (keys_.empty()) return {};
  return keys_.front();
}

bool Keyring::contains(std::span<const uint8_t> key) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) { return same(k, key); });
}

std::string base64_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{data[i]} << 16;
    if (rest == 2) v |= uint32_t{data[i + 1]} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
  std::string s;
  s.reserve(text.size());
  for (char c : text)
    if (c != '\r' && c != '\n') s.push_back(c);
  if (s.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(s.size() / 4 * 3);
  for (size_t q = 0; q < s.size(); q += 4) {
    const bool last = q + 4 == s.size();
    // Padding may only end the final quantum: "xx==" or "xxx=".
    size_t pad = 0;
    if (last && s[q + 3] == '=') pad = s[q + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int d = 0;
      if (j < 4 - pad) {
        d = base64_value(s[q + j]);
        if (d < 0) return std::nullopt;
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

std::string keyring_to_json(const Keyring& ring) {
  // Byte-identical to Go's json.MarshalIndent(keys, "", "  "); base64 needs no escaping.
  if (ring.empty()) return "[]";
  std::string out = "[";
  for (size_t i = 0; i < ring.keys().size(); ++i) {
    out += i == 0 ? "\n  \"" : ",\n  \"";
    out += base64_encode(ring.keys()[i]);
    out += '"';
  }
  out += "\n]";
  return out;
}

KeyringError keyring_from_json(std::string_view json, Keyring& out) {
  auto doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return "Failed to decode keyring file: invalid JSON";
  std::vector<EncryptionKey> keys;
  // Go unmarshals `null` into a nil slice, which then counts as "no keys".
  if (!doc.is_null()) {
    if (!doc.is_array()) return "Failed to decode keyring file: not a JSON array of strings";
    for (const auto& item : doc) {
      // Go leaves a string untouched when unmarshalling null into it, so null reads as "".
      if (!item.is_string() && !item.is_null())
        return "Failed to decode keyring file: not a JSON array of strings";
      auto key = base64_decode(item.is_null() ? "" : item.get_ref<const std::string&>());
      if (!key) return "Failed to decode key from keyring: illegal base64 data";
      keys.push_back(std::move(*key));
    }
  }
  if (keys.empty()) return "Keyring file contains no keys";
  Keyring ring;
  if (auto err = Keyring::create(keys, keys.front(), ring))
    return "Failed to restore keyring: " + *err;
  out = std::move(ring);
  return std::nullopt;
}

KeyringError load_keyring_file(const std::string& path, Keyring& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "Failed to read keyring file: " + path + ": " + errno_text();
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return "Failed to read keyring file: " + path + ": " + errno_text();
  return keyring_from_json(text.str(), out);
}

KeyringError save_keyring_file(const std::string& path, const Keyring& ring) {
  const std::string text = keyring_to_json(ring);
  const std::string tmp = path + ".tmp";
  auto fail = [&](int fd) -> KeyringError {
    std::string err = "Failed to write keyring file: " + errno_text();
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(-1);
  // A stale temp file from an earlier crash keeps its old mode through O_TRUNC.
  if (::fchmod(fd, 0600) != 0) return fail(fd);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(fd);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(fd);
  if (::close(fd) != 0) return fail(-1);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(-1);
  return std::nullopt;
}

}  // namespace kc::gossip

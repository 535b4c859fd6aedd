// The encryption keyring with memberlist 0.2.2's exact semantics (docs/wire.md, "Keyring"),
// standard base64 as Go's base64.StdEncoding, and Serf's keyring file (a JSON array of base64 keys,
// primary first). Errors are returned as memberlist's/Serf's message text because Serf
// sends them to operators verbatim (key-management query responses, RPC).
// Not thread-safe: owned by the agent's single event-loop thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kc::gossip {

using EncryptionKey = std::vector<uint8_t>;

// Every fallible operation returns nullopt on success, else the error message.
using KeyringError = std::optional<std::string>;

class Keyring {
 public:
  // An empty ring: encryption disabled.
  Keyring() = default;

  // memberlist.NewKeyring(keys, primary): primary is installed first, then every key of
  // `keys` (duplicates ignored). No keys and no primary gives an empty ring; keys without a
  // primary is "Empty primary key not allowed".
  static KeyringError create(std::span<const EncryptionKey> keys, std::span<const uint8_t> primary,
                             Keyring& out);

  // memberlist.ValidateKey: "key size must be 16, 24 or 32 bytes" (AES-128/192/256).
  static KeyringError validate_key(std::span<const uint8_t> key);

  // Installs a key for decryption; no-op when present. It becomes primary only when the
  // ring was empty.
  KeyringError add_key(std::span<const uint8_t> key);
  // Makes an installed key primary (moved to index 0, others keep their order).
  // "Requested key is not in the keyring" otherwise.
  KeyringError use_key(std::span<const uint8_t> key);
  // Drops a secondary key; absent keys are a silent no-op. The primary is refused with
  // "Removing the primary key is not allowed".
  KeyringError remove_key(std::span<const uint8_t> key);

  // Index 0 is the primary; decryption tries them in this order.
  const std::vector<EncryptionKey>& keys() const { return keys_; }
  // The key used to encrypt; empty when the ring is empty.
  std::span<const uint8_t> primary() const;
  bool contains(std::span<const uint8_t> key) const;
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

 private:
  std::vector<EncryptionKey> keys_;
};

// Standard alphabet with '=' padding (Go base64.StdEncoding).
std::string base64_encode(std::span<const uint8_t> data);
// As Go's StdEncoding.DecodeString: padding required, '\r' and '\n' ignored, non-zero
// trailing bits tolerated; nullopt on anything else.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

// Serf's keyring file text: json.MarshalIndent(keys, "", "  ") of the base64 keys.
std::string keyring_to_json(const Keyring& ring);
// Parses the file text like Serf's loadKeyringFile (primary = first entry); errors use
// Serf's wording ("Failed to decode keyring file: ...", "Keyring file contains no keys"...).
KeyringError keyring_from_json(std::string_view json, Keyring& out);

// Reads `path` (Serf agent -keyring-file). `out` is untouched on error.
KeyringError load_keyring_file(const std::string& path, Keyring& out);
// Writes `path` with mode 0600 (the keys are secrets), replacing it atomically so a crash
// never leaves a truncated keyring that would stop the agent from starting.
KeyringError save_keyring_file(const std::string& path, const Keyring& ring);

}  // namespace kc::gossip

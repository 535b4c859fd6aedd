// Reads the annotated vector files in tests/vectors (copied from the Serf wire reference):
// blocks separated by blank lines, each a set of `key: value` lines (name, note, hex, inner,
// plain, key, nonce, input ...). Lines starting with '#' are comments.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kc::test {

using Bytes = std::vector<uint8_t>;

struct Vector {
  std::map<std::string, std::string> fields;
  const std::string& name() const { return fields.at("name"); }
  bool has(const std::string& key) const { return fields.contains(key); }
  const std::string& text(const std::string& key) const { return fields.at(key); }
  Bytes bytes(const std::string& key) const;  // field decoded from hex
};

// Path of a file in the source tree (from the KC_SOURCE_DIR environment set by CTest).
std::string source_path(const std::string& relative);

// All vectors of tests/vectors/<file>.
std::vector<Vector> load_vectors(const std::string& file);
// The vector named `name` in `file` (fails the test when absent).
Vector vector_named(const std::string& file, const std::string& name);

Bytes from_hex(const std::string& hex);
std::string to_hex(const Bytes& bytes);

}  // namespace kc::test

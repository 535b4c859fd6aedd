#include "support/vectors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kc::test {

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("KC_SOURCE_DIR");
  return std::string(root ? root : ".") + "/" + relative;
}

Bytes from_hex(const std::string& hex) {
  Bytes out;
  std::string digits;
  for (char c : hex)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  if (digits.size() % 2 != 0) throw std::invalid_argument("odd hex length");
  for (size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

Bytes Vector::bytes(const std::string& key) const {
  return from_hex(text(key));
}

std::vector<Vector> load_vectors(const std::string& file) {
  std::ifstream in(source_path("tests/vectors/" + file));
  if (!in) throw std::runtime_error("cannot open vector file " + file);
  std::vector<Vector> out;
  Vector current;
  std::string line;
  auto flush = [&] {
    if (current.fields.count("name")) out.push_back(current);
    current = Vector{};
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    current.fields[key] = value;
  }
  flush();
  return out;
}

Vector vector_named(const std::string& file, const std::string& name) {
  for (auto& v : load_vectors(file))
    if (v.name() == name) return v;
  ADD_FAILURE() << "no vector " << name << " in " << file;
  return {};
}

}  // namespace kc::test

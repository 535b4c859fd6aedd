// Server messages may span lines (a DETAIL with a newline, a hint, a multi-line context);
// logs and errors want one line.
#pragma once

#include <string>
#include <string_view>

namespace kc::datastore {

// Collapses every run of whitespace (newlines, tabs) to one space and trims both ends.
std::string one_line(std::string_view text);
// The same for a C string; null is empty.
inline std::string one_line(const char* text) {
  return one_line(text ? std::string_view(text) : std::string_view());
}

}  // namespace kc::datastore

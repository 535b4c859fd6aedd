// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// logs and errors want one line.
#pragma once

#include <string>

namespace kc::datastore {

// Collapses every run of whitespace (newlines, tabs) to one space and trims both ends.
std::string one_line(const char* text);

}  // namespace kc::datastore

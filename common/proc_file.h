// Small /proc files read without iostreams or scanf: what runs on every metrics scrape and page
// release stays a read(2) and integer parsing, instead of the locale and stream machinery
// (whose code an idle agent would otherwise keep resident; docs/benchmarks.md, "Eighth run").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kc::proc_file {

// The whole file (a /proc file's size is not known before reading), nullopt if unreadable.
std::optional<std::string> read(const char* path);

// Whitespace-separated fields of text.
std::vector<std::string_view> fields(std::string_view text);

// A decimal unsigned integer, nullopt unless text is one entirely.
std::optional<uint64_t> to_u64(std::string_view text);

}  // namespace kc::proc_file

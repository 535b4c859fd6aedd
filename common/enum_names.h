// The name of an enumeration's value, for enumerations numbered 0, 1, 2, ... in declaration
// order: one table per enumeration instead of a switch each. A value outside the table (a number
// read off the wire and cast) gets `fallback`.
#pragma once

#include <array>
#include <cstddef>

namespace kc {

template <class Enum, std::size_t N>
constexpr const char* enum_name(Enum value, const std::array<const char*, N>& names,
                                const char* fallback = "unknown") {
  auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : fallback;
}

// Whether `names` has a name for every value up to `last`, the enumeration's last value.
template <class Enum, std::size_t N>
constexpr bool names_every_value(const std::array<const char*, N>& /*names*/, Enum last) {
  return static_cast<std::size_t>(last) + 1 == N;
}

}  // namespace kc

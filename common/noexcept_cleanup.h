// Cleanup from a destructor: an exception escaping a destructor ends the process, and a cleanup
// step that throws (a socket close, a timer cancel, a log line) leaves nothing else to undo, so
// the exception is dropped here, in one place.
#pragma once

#include <utility>

namespace kc {

template <class Fn>
void noexcept_cleanup(Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
  } catch (...) {
    // Dropped on purpose, see above.
  }
}

}  // namespace kc

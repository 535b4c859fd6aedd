// The running executable's read-only image (its code and constants, the PT_LOAD segments the
// program headers mark neither writable nor anything else), and returning those pages to the
// kernel. They are private, clean file pages: madvise(MADV_DONTNEED) drops them from the
// process's page table, they stay in the page cache, and the next use maps them back with a
// minor fault. Pages a process only touched while starting up (option parsing, configuration,
// one-time set-up) are thereby no longer counted in its resident set, which then holds what it
// runs now. Writable segments, RELRO included (start-up wrote relocations there), are never
// touched: dropping a private page that was written would lose the writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kc::image_pages {

struct Range {
  uintptr_t begin = 0;  // page-aligned
  uintptr_t end = 0;    // page-aligned, > begin
};

// The executable's read-only PT_LOAD segments as whole pages, less every page that holds a
// byte of a writable segment, RELRO or TLS.
std::vector<Range> read_only_ranges();

struct Released {
  size_t mapped_bytes = 0;    // the ranges' size
  size_t resident_bytes = 0;  // how much the resident set shrank (/proc/self/statm), if readable
  std::string error;          // why nothing (or not everything) was released; empty when done
};

// madvise(MADV_DONTNEED) over read_only_ranges(). Safe at any time on the thread that calls it;
// another thread running code meanwhile just takes a minor fault.
Released release_read_only();

// The heap's free memory back to the kernel (glibc's malloc_trim(0): whole free pages anywhere
// in the heap, not only at its top). A burst (a mass join: one push/pull stream per member at
// once) otherwise leaves its freed buffers resident for the process's life. Returns how much
// the resident set shrank (/proc/self/statm).
size_t release_free_heap();

// The process's resident set in bytes (/proc/self/statm), 0 if unreadable.
size_t resident_bytes();

}  // namespace kc::image_pages

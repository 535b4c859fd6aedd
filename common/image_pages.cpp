#include "common/image_pages.h"

#include <elf.h>
#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/proc_file.h"

namespace kc::image_pages {

namespace {

struct Segments {
  std::vector<Range> read_only;
  std::vector<Range> keep;  // writable or RELRO: whole pages touching them are never released
};

int collect(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<Segments*>(data);
  const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_memsz == 0) continue;
    uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    uintptr_t end = begin + ph.p_memsz;
    bool load = ph.p_type == PT_LOAD;
    // Whole pages: a page a read-only segment shares with another read-only one is read-only
    // too; one it shares with a writable segment is cut out below.
    Range pages{begin & ~(page - 1), (end + page - 1) & ~(page - 1)};
    if ((load && (ph.p_flags & PF_W)) || ph.p_type == PT_GNU_RELRO || ph.p_type == PT_TLS) {
      s->keep.push_back(pages);
    } else if (load) {
      s->read_only.push_back(pages);
    }
  }
  return 1;  // the first object reported is the executable itself: stop there
}

}  // namespace

std::vector<Range> read_only_ranges() {
  Segments s;
  dl_iterate_phdr(collect, &s);
  std::ranges::sort(s.keep, {}, &Range::begin);
  std::vector<Range> out;
  for (Range r : s.read_only) {
    // Cut out every page a writable segment reaches (lld starts one mid-page after the code).
    for (const Range& k : s.keep) {
      if (k.end <= r.begin || k.begin >= r.end) continue;
      if (k.begin > r.begin) out.push_back({r.begin, k.begin});
      r.begin = std::min(r.end, k.end);
    }
    if (r.begin < r.end) out.push_back(r);
  }
  return out;
}

size_t resident_bytes() {
  auto statm = proc_file::read("/proc/self/statm");
  if (!statm) return 0;
  auto f = proc_file::fields(*statm);  // size resident shared text lib data dt, in pages
  auto resident = f.size() > 1 ? proc_file::to_u64(f[1]) : std::nullopt;
  return resident ? size_t(*resident) * size_t(sysconf(_SC_PAGESIZE)) : 0;
}

Released release_read_only() {
  Released r;
  // The program headers do not change while the process runs: read them once.
  static const std::vector<Range> ranges = read_only_ranges();
  if (ranges.empty()) {
    r.error = "no read-only segment found in the program headers";
    return r;
  }
  size_t before = resident_bytes();
  for (const Range& range : ranges) {
    // The address comes from the program headers, not from a pointer.
    void* at = reinterpret_cast<void*>(range.begin);  // NOLINT(performance-no-int-to-ptr)
    if (madvise(at, range.end - range.begin, MADV_DONTNEED) != 0) {
      // EINVAL for locked pages (mlockall): nothing to gain then.
      r.error = std::string("madvise: ") + std::strerror(errno);
      break;
    }
    r.mapped_bytes += range.end - range.begin;
  }
  size_t after = resident_bytes();
  r.resident_bytes = before > after ? before - after : 0;
  return r;
}

size_t release_free_heap() {
  size_t before = resident_bytes();
  malloc_trim(0);
  size_t after = resident_bytes();
  return before > after ? before - after : 0;
}

}  // namespace kc::image_pages

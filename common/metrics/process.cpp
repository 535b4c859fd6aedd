// process_* metrics with the names and meanings of Prometheus' client libraries, so stock
// dashboards work: CPU seconds, resident and virtual memory, open and maximum descriptors,
// start time.
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>

#include "common/metrics/registry.h"
#include "common/proc_file.h"

namespace kc::metrics {

namespace {

struct ProcStat {
  double utime = 0, stime = 0, starttime = 0, vsize = 0, rss_pages = 0;
};

ProcStat read_stat() {
  ProcStat s;
  auto line = proc_file::read("/proc/self/stat");
  if (!line) return s;
  // The command name is in parentheses and may contain spaces: fields start after ')'.
  auto close = line->rfind(')');
  if (close == std::string::npos) return s;
  auto f = proc_file::fields(std::string_view(*line).substr(close + 1));
  // f[0] is field 3 (state); utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
  auto at = [&](size_t field) {
    auto v = field - 3 < f.size() ? proc_file::to_u64(f[field - 3]) : std::nullopt;
    return v ? double(*v) : 0.0;
  };
  s.utime = at(14);
  s.stime = at(15);
  s.starttime = at(22);
  s.vsize = at(23);
  s.rss_pages = at(24);
  return s;
}

double boot_time() {
  auto stat = proc_file::read("/proc/stat");
  if (!stat) return 0;
  auto f = proc_file::fields(*stat);
  for (size_t i = 0; i + 1 < f.size(); ++i)
    if (f[i] == "btime") {
      auto v = proc_file::to_u64(f[i + 1]);
      return v ? double(*v) : 0.0;
    }
  return 0;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

}  // namespace

void add_process_metrics(Registry& r) {
  static const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double start = boot_time() + read_stat().starttime / ticks;
  r.add_counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                [] {
                  auto s = read_stat();
                  return (s.utime + s.stime) / ticks;
                });
  r.add_gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
              [] { return read_stat().rss_pages * page; });
  r.add_gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
              [] { return read_stat().vsize; });
  r.add_gauge("process_open_fds", "Number of open file descriptors.", [] { return open_fds(); });
  r.add_gauge("process_max_fds", "Maximum number of open file descriptors.", [] {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    return static_cast<double>(rl.rlim_cur);
  });
  r.add_gauge("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", [start] { return start; });
}

}  // namespace kc::metrics

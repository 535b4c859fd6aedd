// The gossip core at scale in one process: N simulated members (virtual clock, simulated
// network) join, converge until everyone sees everyone alive, then one crashes and the run
// waits until every other member has it dead. The same scenario as the sim test
// MemberlistSim.ThousandMembersConvergeAndDetectACrash, for any N, with the numbers a
// footprint study needs: virtual seconds to converge and to detect, wall time, peak RSS and
// the heap per member entry (N² entries: every member's table holds every member).
// Not a CI test: hack/bench/sim_scale.py builds and runs it (docs/benchmarks.md).
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sim/gossip/sim_cluster.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

struct Options {
  size_t members = 1000;
  uint64_t seed = 6;
  int converge_limit_s = 600;
  int detect_limit_s = 600;
  int progress_every_s = 10;  // virtual seconds between progress lines (stderr)
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long value = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--members")
      o.members = size_t(value);
    else if (flag == "--seed")
      o.seed = uint64_t(value);
    else if (flag == "--converge-limit")
      o.converge_limit_s = int(value);
    else if (flag == "--detect-limit")
      o.detect_limit_s = int(value);
    else if (flag == "--progress-every")
      o.progress_every_s = int(value);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (o.members < 2) {
    std::fprintf(stderr, "--members must be at least 2\n");
    std::exit(2);
  }
  return o;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](timeval t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

double heap_in_use_bytes() {
  return double(mallinfo2().uordblks);
}

// Counts members that see `name` in `state`, for the progress lines and the detection check.
size_t count_seeing(SimCluster& c, const std::string& name, NodeState state) {
  size_t n = 0;
  for (size_t v = 0; v < c.size(); ++v)
    if (c.running(v) && c.state_in(v, name) == state) ++n;
  return n;
}

size_t converged_members(SimCluster& c) {
  size_t n = 0, running = c.running_count();
  for (size_t v = 0; v < c.size(); ++v)
    if (c.running(v) && c.at(v).count(NodeState::Alive) == running) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  auto wall_start = std::chrono::steady_clock::now();
  auto wall = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  };
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  double heap_before = heap_in_use_bytes();

  Config cfg = Config::lan();
  cfg.enable_compression = false;  // as the sim test: LZW would dominate, it has its own tests
  SimCluster c(o.members, o.seed, cfg);
  // Thousands of members log thousands of rate-limit warnings while they join: errors only.
  kc::log::set_level("error");
  for (size_t i = 1; i < c.size(); ++i) {
    size_t seed = i % 10;
    c.at(i).join({SimCluster::address_of(seed == i ? 0 : seed).to_string()},
                 [](int, std::string) {});
  }
  auto start = c.clock().now();
  auto progress = [&](const char* phase, size_t done) {
    std::fprintf(stderr,
                 "[%s] virtual %4.0f s, wall %7.1f s, cpu %7.1f s, peak RSS %8.1f MiB, %zu/%zu "
                 "done\n",
                 phase, secs(c.clock().now() - start), wall(), cpu_seconds(), peak_rss_mib(), done,
                 c.running_count());
  };

  bool converged = false;
  for (int t = 0; t < o.converge_limit_s && !converged; t += o.progress_every_s) {
    converged = c.clock().run_until([&] { return c.all_see_all_alive(); },
                                    std::chrono::seconds(o.progress_every_s), 1s);
    progress("converge", converged_members(c));
  }
  double converge_s = secs(c.clock().now() - start);
  double converge_wall = wall();
  double heap_converged = heap_in_use_bytes() - heap_before;
  double entries = double(o.members) * double(o.members);

  bool detected = false;
  double detect_s = 0;
  std::string victim = "node-" + std::to_string(o.members / 2);
  if (converged) {
    auto crash_at = c.clock().now();
    c.crash(o.members / 2);
    for (int t = 0; t < o.detect_limit_s && !detected; t += o.progress_every_s) {
      detected = c.clock().run_until(
          [&] { return count_seeing(c, victim, NodeState::Dead) == c.running_count(); },
          std::chrono::seconds(o.progress_every_s), 1s);
      progress("detect", count_seeing(c, victim, NodeState::Dead));
    }
    detect_s = secs(c.clock().now() - crash_at);
  }

  std::printf("members: %zu\n", o.members);
  std::printf("converged: %s after %.0f virtual s (%.1f s wall)\n", converged ? "yes" : "NO",
              converge_s, converge_wall);
  std::printf("crash of %s detected by all: %s after %.0f virtual s\n", victim.c_str(),
              detected ? "yes" : "NO", detect_s);
  std::printf("wall time: %.1f s\n", wall());
  std::printf("cpu time: %.1f s\n", cpu_seconds());
  std::printf("peak RSS: %.1f MiB\n", peak_rss_mib());
  std::printf("heap in use at convergence: %.1f MiB, %.0f bytes per member entry (%zu² entries)\n",
              heap_converged / (1024.0 * 1024.0), heap_converged / entries, o.members);
  std::printf("peak RSS per member entry: %.0f bytes\n", peak_rss_mib() * 1024 * 1024 / entries);
  std::fflush(stdout);
  // The cluster is torn down by the OS: freeing N² entries one by one only costs time here.
  std::_Exit(converged && detected ? 0 : 1);
}

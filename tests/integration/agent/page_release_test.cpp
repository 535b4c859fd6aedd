// agent/page_release: an agent that hands its code and constant pages back to the kernel every
// second (cluster_page_release_interval = 1) keeps answering HTTP and RPC, gossiping and
// detecting a crash, and counts its releases; with 0 it never releases.
#include <csignal>
#include <fstream>

#include "agent_fixture.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> conf_with_interval(const TempDir& dir, const std::string& name,
                                            int seconds) {
  auto path = dir.path() + "/" + name + ".conf";
  std::ofstream(path) << "cluster_page_release_interval = " << seconds << "\n";
  return {"--conf", path};
}

const char* kReleases = "kong_cluster_agent_page_releases_total";
const char* kReleased = "kong_cluster_agent_page_release_resident_bytes_total";

}  // namespace

TEST(PageRelease, AnAgentReleasingEverySecondKeepsWorking) {
  TempDir dir;
  HttpAgent a(dir, "release-a", conf_with_interval(dir, "a", 1));
  ASSERT_TRUE(a.wait_http()) << a.agent().process().log();
  HttpAgent b(dir, "release-b", conf_with_interval(dir, "b", 0), {a.agent().gossip_addr()});
  ASSERT_TRUE(b.wait_http()) << b.agent().process().log();
  HttpAgent c(dir, "release-c", {}, {a.agent().gossip_addr()});
  ASSERT_TRUE(c.wait_http()) << c.agent().process().log();
  ASSERT_TRUE(wait_until([&] { return a.status_of("release-c") == "alive"; }, 20s));

  // Three releases, each taking resident pages off (start-up's, then what ran since).
  ASSERT_TRUE(wait_until([&] { return metric(a, kReleases) >= 3; }, 20s))
      << metric(a, kReleases) << "\n"
      << a.agent().process().log();
  EXPECT_GT(metric(a, kReleased), 0);
  EXPECT_EQ(metric(b, kReleases), 0) << "interval 0 must never release";

  // Everything still runs after the releases: RPC, HTTP, gossip, failure detection.
  EXPECT_EQ(a.agent().alive_count(), 3u);
  EXPECT_EQ(a.status_of("release-b"), "alive");
  c.agent().process().signal(SIGKILL);
  EXPECT_TRUE(wait_until([&] { return a.status_of("release-c") == "failed"; }, 30s))
      << a.status_of("release-c");
  EXPECT_TRUE(a.agent().process().running()) << a.agent().process().log();
  EXPECT_GE(metric(a, kReleases), 4);
}

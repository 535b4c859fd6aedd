// An orphan (a member whose pod is not in the informer cache) is confirmed only by a fresh read
// from the API server: a pod the server still has, or an error, is no absence.
#include "operator/controller/orphan_check.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "test_cluster.h"

using namespace kc::controller;
using namespace kc::controller::testing;

namespace {

struct Check {
  boost::asio::io_context io;
  FakeKube kube;
  OrphanCheck orphans{kube, kNs};
  Check() { kube.io = &io; }
  // Checks `m` and waits for the server's answer; whether it was found gone.
  bool gone(const Member& m) {
    bool gone = false;
    size_t calls = kube.calls.size();
    orphans.check(m, [&] { gone = true; });
    io.restart();
    io.poll();
    EXPECT_LE(kube.calls.size(), calls + 1);
    return gone;
  }
  std::string get_of(const std::string& pod) const { return "GET " + kc::kube::pod_path(kNs, pod); }
};

}  // namespace

TEST(OrphanCheck, APodTheServerStillHasIsNotGoneWhateverTheCacheSays) {
  Check c;
  c.kube.objects[kc::kube::pod_path(kNs, "ghost")] =
      pod_json("ghost", "uid-ghost", "10.0.0.9", "node-a");
  EXPECT_FALSE(c.gone(member("ghost", "10.0.0.9")));
  EXPECT_EQ(c.kube.count(c.get_of("ghost")), 1u);
}

TEST(OrphanCheck, NotFoundOnTheServerIsGone) {
  Check c;
  EXPECT_TRUE(c.gone(member("ghost", "10.0.0.9")));
  EXPECT_EQ(c.kube.count(c.get_of("ghost")), 1u);
}

TEST(OrphanCheck, APodOfThatNameWithAnotherUidIsAnotherPod) {
  Check c;
  c.kube.objects[kc::kube::pod_path(kNs, "ghost")] =
      pod_json("ghost", "uid-other", "10.0.0.9", "node-a");
  EXPECT_TRUE(c.gone(member("ghost", "10.0.0.9")));
}

TEST(OrphanCheck, AnErrorIsNoAbsence) {
  Check c;
  c.kube.failing["GET " + kc::kube::pod_path(kNs, "ghost")] = 500;
  EXPECT_FALSE(c.gone(member("ghost", "10.0.0.9")));
  c.kube.failing["GET " + kc::kube::pod_path(kNs, "ghost")] = 403;
  EXPECT_FALSE(c.gone(member("ghost", "10.0.0.9")));
}

TEST(OrphanCheck, AMemberThatCannotBeLookedUpIsLeftAlone) {
  Check c;
  Member only_uid = member("ghost", "10.0.0.9");
  only_uid.tags.erase("pod");
  EXPECT_FALSE(c.gone(only_uid));
  Member elsewhere = member("other", "10.0.0.8");
  elsewhere.tags["namespace"] = "not-watched";
  EXPECT_FALSE(c.gone(elsewhere));
  EXPECT_TRUE(c.kube.calls.empty());
}

TEST(OrphanCheck, OneCheckPerMemberAtATime) {
  Check c;
  int gone = 0;
  c.orphans.check(member("ghost", "10.0.0.9"), [&] { ++gone; });
  c.orphans.check(member("ghost", "10.0.0.9"), [&] { ++gone; });
  c.io.poll();
  EXPECT_EQ(gone, 1);
  EXPECT_EQ(c.kube.count(c.get_of("ghost")), 1u);
}

// The `nodes` table's controller: a row older than a minute with no member is deleted once; a
// member's row, another cluster's member's row, and a young row stay; a delete that fails is
// retried while Postgres is down.
#include "operator/controller/nodes_reconciler.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>

#include "common/metrics/registry.h"
#include "test_cluster.h"

using namespace kc::controller;
using namespace kc::controller::testing;

namespace {

struct Rows : Harness {
  FakeRows table;
  std::set<std::string> members;
  NodesReconciler rows{io, table, metrics,
                       [this](const std::string& name) { return members.count(name) > 0; },
                       fast_queue()};
  Rows() { table.io = &io; }
  void add_row(const std::string& name, std::chrono::seconds age) {
    kc::datastore::NodeRow row;
    row.name = name;
    row.created_at = std::chrono::system_clock::now() - age;
    table.rows[name] = row;
  }
  // One resync; its result.
  std::optional<bool> resync() {
    std::optional<bool> result;
    rows.resync([&](bool ok) { result = ok; });
    run_until([&] { return result.has_value(); });
    return result;
  }
};

}  // namespace

TEST(NodesReconciler, DeletesOldRowsOfNoMemberOnlyOnce) {
  Rows r;
  r.add_row("ghost", std::chrono::hours(1));
  r.add_row("member", std::chrono::hours(1));
  r.add_row("young", std::chrono::seconds(5));
  r.members.insert("member");
  ASSERT_EQ(r.resync(), true);
  ASSERT_TRUE(run_until(r.io, [&] { return !r.table.rows.count("ghost"); }));
  ASSERT_EQ(r.resync(), true);
  r.io.restart();
  r.io.poll();
  EXPECT_EQ(r.table.deleted["ghost"], 1);
  EXPECT_TRUE(r.table.rows.count("member"));
  EXPECT_TRUE(r.table.rows.count("young"));
  EXPECT_EQ(r.table.deleted.size(), 1u);
}

TEST(NodesReconciler, ARowWhoseMemberAppearedBeforeTheDeleteStays) {
  Rows r;
  r.add_row("late", std::chrono::hours(1));
  ASSERT_EQ(r.resync(), true);
  r.members.insert("late");  // joined between the listing and the queued delete
  r.io.restart();
  r.io.poll();
  EXPECT_TRUE(r.table.rows.count("late"));
}

TEST(NodesReconciler, PostgresDownFailsTheListingAndDeletesAreRetried) {
  Rows r;
  r.add_row("ghost", std::chrono::hours(1));
  r.table.failing = true;
  EXPECT_EQ(r.resync(), false);
  r.table.failing = false;
  ASSERT_EQ(r.resync(), true);
  r.table.failing = true;  // down again before the queued delete runs
  ASSERT_TRUE(run_until(r.io, [&] { return r.rows.queue().failures("ghost") >= 2; }));
  EXPECT_TRUE(r.table.rows.count("ghost"));
  r.table.failing = false;
  ASSERT_TRUE(run_until(r.io, [&] { return !r.table.rows.count("ghost"); }));
  EXPECT_EQ(r.table.deleted["ghost"], 1);
}

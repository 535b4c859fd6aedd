// Registrar lifecycle against a real Postgres, with a fake agent standing in for gossip.
#include "datastore/registrar.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "datastore/schema.h"
#include "ds_test_util.h"
#include "support/own_postgres_test.h"

using namespace kc::datastore;
using namespace std::chrono_literals;
using kc::test::await;
using kc::test::run_until;

namespace {

// What the agent would do: record the join requests, answer them, report a member count.
struct FakeAgent {
  std::vector<std::vector<std::string>> joins;
  size_t members = 1;
  bool answer = true;

  JoinFn join() {
    return [this](std::vector<std::string> addresses, std::function<void(int)> done) {
      joins.push_back(addresses);
      if (answer) done(static_cast<int>(addresses.size()));
    };
  }
  MemberCountFn count() {
    return [this] { return members; };
  }
  std::set<std::string> all_joined() const {
    std::set<std::string> out;
    for (auto& j : joins) out.insert(j.begin(), j.end());
    return out;
  }
};

RegistrarOptions fast(const std::string& name, const std::string& address) {
  RegistrarOptions o;
  o.name = name;
  o.address = address;
  o.keepalive_interval = 200ms;
  o.autojoin_interval = 100ms;
  o.autojoin_window = 2s;
  o.purge_interval = 300ms;
  o.join_timeout = 1s;
  o.stop_timeout = 2s;
  o.retry_initial = 50ms;
  o.retry_max = 400ms;
  return o;
}

class RegistrarTest : public kc::test::FreshDatabaseTest {
 protected:
  void SetUp() override {
    FreshDatabaseTest::SetUp();
    if (IsSkipped()) return;
    client_ = std::make_unique<PgClient>(io_, config(), kc::test::fast_client());
    table_ = std::make_unique<NodesTable>(*client_);
  }

  void migrate_now() {
    auto m = await<MigrationReport>(io_, [&](auto cb) { migrate(*client_, cb); });
    ASSERT_FALSE(m.error) << m.error->describe();
  }
  void insert(const std::string& name, const std::string& address, std::chrono::seconds ttl) {
    auto r =
        await<InsertOutcome>(io_, [&](auto cb) { table_->insert_self(name, address, ttl, cb); });
    ASSERT_FALSE(r.error) << r.error->describe();
  }
  std::unique_ptr<Registrar> registrar(const RegistrarOptions& o) {
    return std::make_unique<Registrar>(io_, *client_, o, agent_.join(), agent_.count());
  }
  std::string row(const std::string& name) {
    return sql("SELECT cluster_listening_address FROM nodes WHERE name = '" + name + "'");
  }

  std::unique_ptr<PgClient> client_;
  std::unique_ptr<NodesTable> table_;
  FakeAgent agent_;
};

}  // namespace

TEST_F(RegistrarTest, RegistersItsRowWithTheAdvertisedAddress) {
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  EXPECT_EQ(row("node-a"), "10.1.0.1:7946\n");
  EXPECT_EQ(sql("SELECT round(extract(epoch FROM expire_at - timezone('utc', now())) / 60)"
                " FROM ttls WHERE primary_key_value = 'node-a'"),
            "60\n");                  // ttl_on_failure: an hour
  EXPECT_TRUE(agent_.joins.empty());  // nobody to join
  EXPECT_EQ(r->metrics().registrations, 1u);
  EXPECT_EQ(sql("SELECT version FROM kong_cluster_schema"), "1\n");
}

TEST_F(RegistrarTest, StartDeletesOurStaleRowAndJoinsLiveRowsNewestFirst) {
  migrate_now();
  insert("node-a", "10.1.0.99:7946", 3600s);  // our row from before a crash
  insert("older", "10.1.0.2:7946", 3600s);
  insert("newer", "10.1.0.3:7946", 3600s);
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  ASSERT_EQ(agent_.joins.size(), 1u);
  EXPECT_EQ(agent_.joins[0], (std::vector<std::string>{"10.1.0.3:7946", "10.1.0.2:7946"}));
  EXPECT_EQ(row("node-a"), "10.1.0.1:7946\n");
}

TEST_F(RegistrarTest, ExpiredGhostRowsAreNotJoined) {
  migrate_now();
  for (int i = 0; i < 20; ++i)
    insert("ghost-" + std::to_string(i), "10.9.0." + std::to_string(i) + ":7946", 1s);
  insert("alive", "10.1.0.2:7946", 3600s);
  ASSERT_TRUE(kc::test::wait_until(
      [&] {
        return sql("SELECT count(*) FROM ttls WHERE expire_at > timezone('utc', now())") == "1\n";
      },
      10s, 100ms));
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  ASSERT_EQ(agent_.joins.size(), 1u);
  EXPECT_EQ(agent_.joins[0], std::vector<std::string>{"10.1.0.2:7946"});
  // ... and the periodic purge removes them for good.
  ASSERT_TRUE(run_until(io_, [&] { return r->metrics().purged_rows == 20; }));
  EXPECT_EQ(sql("SELECT count(*) FROM nodes"), "2\n");
}

TEST_F(RegistrarTest, JoinThatNeverAnswersDoesNotBlockRegistration) {
  migrate_now();
  insert("peer", "10.1.0.2:7946", 3600s);
  agent_.answer = false;
  auto o = fast("node-a", "10.1.0.1:7946");
  o.join_timeout = 300ms;
  auto r = registrar(o);
  r->start();
  ASSERT_TRUE(run_until(
      io_, [&] { return r->registered(); }, 5s));
  EXPECT_EQ(agent_.joins.size(), 1u);
}

TEST_F(RegistrarTest, KeepaliveReinsertsARowDeletedByHand) {
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  sql("DELETE FROM nodes WHERE name = 'node-a'; DELETE FROM ttls WHERE primary_key_value = "
      "'node-a'");
  ASSERT_TRUE(run_until(io_, [&] { return r->metrics().reinserts >= 1; }));
  EXPECT_EQ(row("node-a"), "10.1.0.1:7946\n");
  EXPECT_EQ(sql("SELECT count(*) FROM ttls WHERE primary_key_value = 'node-a'"), "1\n");
}

TEST_F(RegistrarTest, KeepaliveRefreshesTheTtl) {
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  sql("UPDATE ttls SET expire_at = timezone('utc', now()) + interval '70 seconds'");
  // A keepalive counts once its statement completed, so the row is checked after the count
  // moved (checked before, the row can be refreshed while the completion is still queued);
  // two more, so that at least one started after the UPDATE.
  auto before = r->metrics().keepalives;
  ASSERT_TRUE(run_until(io_, [&] { return r->metrics().keepalives >= before + 2; }));
  EXPECT_EQ(sql("SELECT expire_at > timezone('utc', now()) + interval '50 minutes' FROM ttls"),
            "t\n");
  EXPECT_EQ(r->metrics().reinserts, 0u);
}

TEST_F(RegistrarTest, StopDeletesOurRow) {
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  bool stopped = false;
  r->stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io_, [&] { return stopped; }));
  EXPECT_EQ(sql("SELECT (SELECT count(*) FROM nodes) + (SELECT count(*) FROM ttls)"), "0\n");
  EXPECT_FALSE(r->registered());
}

TEST_F(RegistrarTest, MemberLeaveDeletesThatMembersRowOnly) {
  migrate_now();
  insert("peer", "10.1.0.2:7946", 3600s);
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  r->on_member_left("node-a");  // never our own row
  r->on_member_left("peer");
  ASSERT_TRUE(run_until(io_, [&] { return r->metrics().member_deletes == 1; }));
  EXPECT_EQ(sql("SELECT string_agg(name, ',') FROM nodes"), "node-a\n");
}

TEST_F(RegistrarTest, AutoJoinsNewRowsOnlyWhileAloneAndWithinTheWindow) {
  auto r = registrar(fast("node-a", "10.1.0.1:7946"));
  r->start();
  ASSERT_TRUE(run_until(io_, [&] { return r->registered(); }));
  ASSERT_TRUE(agent_.joins.empty());

  insert("late", "10.1.0.2:7946", 3600s);  // a node that registered just after us
  ASSERT_TRUE(run_until(
      io_, [&] { return agent_.all_joined().count("10.1.0.2:7946") == 1; }, 5s));

  agent_.members = 2;  // the join worked: no longer alone
  size_t before = agent_.joins.size();
  insert("later", "10.1.0.3:7946", 3600s);
  kc::test::run_for(io_, 600ms);  // six auto-join ticks
  EXPECT_EQ(agent_.joins.size(), before);

  agent_.members = 1;  // alone again, but once the window has closed nothing happens
  ASSERT_TRUE(run_until(
      io_, [&] { return agent_.all_joined().count("10.1.0.3:7946") == 1; }, 5s));
  kc::test::run_for(io_, 2500ms);  // past the 2 s window
  before = agent_.joins.size();
  kc::test::run_for(io_, 500ms);
  EXPECT_EQ(agent_.joins.size(), before);
}

// Five agents registering at the same moment each end up asking to join the other four.
TEST_F(RegistrarTest, SimultaneousStartsFindEachOther) {
  migrate_now();
  std::vector<FakeAgent> agents(5);
  std::vector<std::unique_ptr<PgClient>> clients;
  std::vector<std::unique_ptr<Registrar>> registrars;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<PgClient>(io_, config(), kc::test::fast_client()));
    registrars.push_back(std::make_unique<Registrar>(
        io_, *clients.back(),
        fast("node-" + std::to_string(i), "10.2.0." + std::to_string(i) + ":7946"),
        agents[i].join(), agents[i].count()));
  }
  for (auto& r : registrars) r->start();
  ASSERT_TRUE(run_until(io_, [&] {
    for (size_t i = 0; i < 5; ++i)
      if (agents[i].all_joined().size() < 4) return false;
    return true;
  }));
  EXPECT_EQ(sql("SELECT count(*) FROM nodes"), "5\n");
}

// Servers of their own: these tests stop and restart Postgres. Each has one registrar, node-a.
class RegistrarOutage : public kc::test::OwnPostgresTest {
 protected:
  void SetUp() override {
    OwnPostgresTest::SetUp();
    if (IsSkipped()) return;
    parts_ = std::make_unique<Parts>(*pg_, db_);
  }
  // Starts the registrar and waits until its row is in.
  void start_registered() {
    r().start();
    ASSERT_TRUE(run_until(io(), [&] { return r().registered(); }));
  }
  kc::test::PostgresFixture& pg() { return *pg_; }
  std::string sql(const std::string& query) { return pg_->psql(query, db_); }
  boost::asio::io_context& io() { return parts_->io; }
  PgClient& client() { return parts_->client; }
  Registrar& r() { return parts_->registrar; }

 private:
  struct Parts {
    Parts(kc::test::PostgresFixture& pg, const std::string& db)
        : client{io, kc::test::config_for(pg, db), kc::test::fast_client()} {}
    boost::asio::io_context io;
    FakeAgent agent;
    PgClient client;
    Registrar registrar{io, client, fast("node-a", "10.1.0.1:7946"), agent.join(), agent.count()};
  };
  std::unique_ptr<Parts> parts_;  // destroyed before the server it talks to
};

TEST_F(RegistrarOutage, PostgresDownAtStartRegistersOnceItReturns) {
  pg().stop();
  r().start();
  ASSERT_TRUE(run_until(io(), [&] { return r().metrics().registration_failures >= 3; }));
  EXPECT_FALSE(r().registered());
  EXPECT_FALSE(client().metrics().up);

  pg().start();
  ASSERT_TRUE(run_until(io(), [&] { return r().registered(); }));
  // Keep going for a few keepalives: still exactly one row and one TTL.
  ASSERT_TRUE(run_until(io(), [&] { return r().metrics().keepalives >= 3; }));
  EXPECT_EQ(sql("SELECT count(*) || ' ' || max(cluster_listening_address) FROM nodes"),
            "1 10.1.0.1:7946\n");
  EXPECT_EQ(sql("SELECT count(*) FROM ttls"), "1\n");
  EXPECT_EQ(r().metrics().registrations, 1u);
}

TEST_F(RegistrarOutage, OutageWhileRegisteredResumesAndCatchesUpOnLeaves) {
  ASSERT_NO_FATAL_FAILURE(start_registered());
  sql("INSERT INTO nodes(name, cluster_listening_address) VALUES ('peer', '10.1.0.2:7946')");

  pg().stop();
  ASSERT_TRUE(run_until(io(), [&] { return r().metrics().keepalive_failures >= 2; }));
  r().on_member_left("peer");  // cannot be applied now: remembered
  ASSERT_TRUE(run_until(io(), [&] { return r().metrics().member_delete_failures >= 1; }));

  pg().start();
  auto keepalives = r().metrics().keepalives;
  ASSERT_TRUE(run_until(io(), [&] {
    return r().metrics().keepalives > keepalives && r().metrics().member_deletes == 1;
  }));
  EXPECT_EQ(sql("SELECT string_agg(name, ',') FROM nodes"), "node-a\n");
  EXPECT_EQ(sql("SELECT count(*) FROM ttls"), "1\n");
  EXPECT_TRUE(r().registered());
}

TEST_F(RegistrarOutage, StopWithPostgresDownStillFinishes) {
  ASSERT_NO_FATAL_FAILURE(start_registered());
  pg().stop();
  bool stopped = false;
  r().stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(
      io(), [&] { return stopped; }, 5s));  // within stop_timeout (2 s)
  pg().start();
  EXPECT_EQ(sql("SELECT count(*) FROM nodes"), "1\n");  // left to expire by its TTL
}

TEST_F(RegistrarTest, DestroyingMidSequenceIsSafe) {
  agent_.answer = false;  // park the start sequence inside the join
  migrate_now();
  insert("peer", "10.1.0.2:7946", 3600s);
  {
    auto r = registrar(fast("node-a", "10.1.0.1:7946"));
    r->start();
    ASSERT_TRUE(run_until(io_, [&] { return !agent_.joins.empty(); }));
  }
  kc::test::run_for(io_, 1500ms);  // join guard, keepalive and purge timers fire into nothing
  EXPECT_EQ(sql("SELECT count(*) FROM nodes WHERE name = 'node-a'"), "0\n");
}

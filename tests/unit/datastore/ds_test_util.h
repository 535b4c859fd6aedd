// Helpers shared by the datastore tests: one Postgres server per test binary, a fresh
// database per test, and driving the io_context until a condition holds.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "datastore/nodes_table.h"
#include "datastore/pg_client.h"
#include "support/postgres_fixture.h"
#include "support/wait.h"

namespace kc::test {

// Started on first use, stopped at exit. Tests that stop Postgres use their own fixture.
inline PostgresFixture& shared_postgres() {
  static std::unique_ptr<PostgresFixture> pg = std::make_unique<PostgresFixture>();
  return *pg;
}

inline datastore::PgConfig config_for(PostgresFixture& pg, const std::string& database) {
  datastore::PgConfig c;
  c.host = pg.host();
  c.port = pg.port();
  c.user = pg.user();
  c.database = database;
  return c;
}

// Fast retries so outage tests take seconds.
inline datastore::ClientOptions fast_client() {
  datastore::ClientOptions o;
  o.reconnect_initial = std::chrono::milliseconds(50);
  o.reconnect_max = std::chrono::milliseconds(400);
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.query_timeout = std::chrono::milliseconds(5000);
  return o;
}

// Runs the loop until `condition` holds or `timeout` passes; returns whether it held.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto guard = boost::asio::make_work_guard(io);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // Asio stops a context whose work count reached zero (an earlier guard released).
    if (io.stopped()) io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Runs the loop for a fixed span: only for asserting that something does NOT happen.
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds span) {
  auto guard = boost::asio::make_work_guard(io);
  if (io.stopped()) io.restart();
  io.run_for(span);
}

// Synchronous wrappers over the callback API, for test readability.
template <class T>
struct Outcome {
  bool done = false;
  std::optional<datastore::PgError> error;
  T value{};
};

template <class T, class Call>
Outcome<T> await(boost::asio::io_context& io, Call call) {
  auto out = std::make_shared<Outcome<T>>();
  call([out](const std::optional<datastore::PgError>& e, T v) {
    out->done = true;
    out->error = e;
    out->value = std::move(v);
  });
  EXPECT_TRUE(run_until(io, [&] { return out->done; })) << "no answer from the datastore";
  return *out;
}

inline datastore::Result run_sql(boost::asio::io_context& io, datastore::PgClient& client,
                                 datastore::Statement statement) {
  auto out = std::make_shared<std::optional<datastore::Result>>();
  client.execute(std::move(statement), [out](datastore::Result r) { *out = std::move(r); });
  EXPECT_TRUE(run_until(io, [&] { return out->has_value(); })) << "no answer from the datastore";
  return out->value_or(datastore::Result{});
}

#define KC_REQUIRE_POSTGRES() \
  if (!::kc::test::postgres_available()) GTEST_SKIP() << "PostgreSQL 15 is not installed"

// A test with a database of its own on the shared server, and a loop to run clients on.
class FreshDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KC_REQUIRE_POSTGRES();
    db_ = pg().create_database();
  }
  PostgresFixture& pg() { return shared_postgres(); }
  datastore::PgConfig config() { return config_for(pg(), db_); }
  std::string sql(const std::string& query) { return pg().psql(query, db_); }

  boost::asio::io_context io_;
  std::string db_;
};

}  // namespace kc::test

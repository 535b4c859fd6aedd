// A test with a Postgres server of its own (these tests stop it, or run agents that create
// Kong's tables) and one database on it, skipped where PostgreSQL 15 is not installed (hack/deps.sh
// installs it, and hack/test.sh fails a run that skipped).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/postgres_fixture.h"

namespace kc::test {

class OwnPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!postgres_available())
      GTEST_SKIP() << "PostgreSQL 15 is not installed (hack/deps.sh installs it)";
    pg_ = std::make_unique<PostgresFixture>();
    db_ = pg_->create_database();
  }

  // The database as Kong's environment names it to an agent.
  std::map<std::string, std::string> kong_env() const {
    return {{"KONG_PG_HOST", pg_->host()},
            {"KONG_PG_PORT", std::to_string(pg_->port())},
            {"KONG_PG_USER", pg_->user()},
            {"KONG_PG_DATABASE", db_}};
  }

  // The rows of `nodes` as `select` gives them, one line each; none until an agent has made the
  // table.
  std::vector<std::string> nodes_rows(const std::string& select) {
    try {
      return pg_->psql_lines("SELECT " + select + " FROM nodes ORDER BY name", db_);
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).find("does not exist") != std::string::npos) return {};
      throw;
    }
  }

  std::unique_ptr<PostgresFixture> pg_;
  std::string db_;
};

}  // namespace kc::test

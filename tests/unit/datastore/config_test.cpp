// Configuration and error formatting: no server needed.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "datastore/pg_config.h"
#include "datastore/pg_result.h"
#include "datastore/pg_text.h"
#include "datastore/registrar.h"
#include "support/process.h"

using namespace kc::datastore;

namespace {

bool mentions(const std::vector<std::string>& errors, const std::string& key) {
  for (auto& e : errors)
    if (e.rfind(key + ":", 0) == 0) return true;
  return false;
}

PgConfig from(const std::map<std::string, std::string>& keys, std::vector<std::string>& errors) {
  return pg_config_from(
      [&](std::string_view key) -> std::optional<std::string> {
        auto it = keys.find(std::string(key));
        if (it == keys.end()) return std::nullopt;
        return it->second;
      },
      errors);
}

}  // namespace

TEST(PgConfig, DefaultsAreKongs) {
  PgConfig c;
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 5432);
  EXPECT_EQ(c.user, "kong");
  EXPECT_EQ(c.password, "");
  EXPECT_EQ(c.database, "kong");
  EXPECT_FALSE(c.ssl);
  EXPECT_FALSE(c.ssl_verify);
  EXPECT_TRUE(c.validate().empty());
  EXPECT_EQ(c.describe(), "127.0.0.1:5432/kong");
}

TEST(PgConfig, ValidateNamesEachBadKey) {
  PgConfig c;
  c.host = "";
  c.port = 70000;
  c.user = "";
  c.database = "";
  c.ssl_verify = true;
  auto errors = c.validate();
  for (auto key : {"pg_host", "pg_port", "pg_user", "pg_database", "pg_ssl_verify"})
    EXPECT_TRUE(mentions(errors, key)) << key;
  EXPECT_EQ(errors.size(), 5u);
}

TEST(PgConfig, PasswordFileMustBeReadableAndAlone) {
  kc::test::TempDir dir;
  PgConfig c;
  c.password_file = dir.path() + "/missing";
  EXPECT_TRUE(mentions(c.validate(), "pg_password_file"));
  std::ofstream(dir.path() + "/pw") << "secret\n";
  c.password_file = dir.path() + "/pw";
  EXPECT_TRUE(c.validate().empty());
  c.password = "inline";
  EXPECT_TRUE(mentions(c.validate(), "pg_password_file"));
}

TEST(PgConfig, ParsesKongKeys) {
  std::vector<std::string> errors;
  auto c = from({{"pg_host", "db.internal"},
                 {"pg_port", "6543"},
                 {"pg_user", "gw"},
                 {"pg_password", "pw"},
                 {"pg_database", "kong_prod"},
                 {"pg_ssl", "on"},
                 {"pg_ssl_verify", "true"}},
                errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(c.host, "db.internal");
  EXPECT_EQ(c.port, 6543);
  EXPECT_EQ(c.user, "gw");
  EXPECT_EQ(c.password, "pw");
  EXPECT_EQ(c.database, "kong_prod");
  EXPECT_TRUE(c.ssl);
  EXPECT_TRUE(c.ssl_verify);
}

TEST(PgConfig, ReportsUnparsableValuesByKey) {
  std::vector<std::string> errors;
  auto c = from({{"pg_port", "54x"}, {"pg_ssl", "maybe"}}, errors);
  EXPECT_TRUE(mentions(errors, "pg_port"));
  EXPECT_TRUE(mentions(errors, "pg_ssl"));
  EXPECT_EQ(c.port, 5432);  // the default stays
}

TEST(PgError, DescribeNamesServerDatabaseAndState) {
  PgError e;
  e.host = "10.0.0.5";
  e.port = 5432;
  e.database = "kong";
  e.sqlstate = "42P01";
  e.message = "relation \"nodes\" does not exist";
  EXPECT_EQ(e.describe(), "postgres 10.0.0.5:5432/kong: [42P01] relation \"nodes\" does not exist");
  EXPECT_FALSE(e.unavailable());
  e.kind = PgError::Kind::connect;
  EXPECT_TRUE(e.unavailable());
}

TEST(PgText, OneLine) {
  EXPECT_EQ(one_line("connection failed: refused\n\tIs the server running?\n"),
            "connection failed: refused Is the server running?");
  EXPECT_EQ(one_line(nullptr), "");
}

TEST(RegistrarOptions, Validation) {
  RegistrarOptions o;
  o.name = "node-1";
  o.address = "10.1.2.3:7946";
  EXPECT_TRUE(o.validate().empty());
  o.address = "[fd00::5]:7946";
  EXPECT_TRUE(o.validate().empty());
  for (auto bad : {"0.0.0.0:7946", "10.1.2.3", "10.1.2.3:0", "10.1.2.3:99999", "host:7946", ""}) {
    o.address = bad;
    EXPECT_TRUE(mentions(o.validate(), "cluster_advertise")) << bad;
  }
  o.address = "10.1.2.3:7946";
  o.ttl_on_failure = std::chrono::seconds(59);
  EXPECT_TRUE(mentions(o.validate(), "cluster_ttl_on_failure"));
}

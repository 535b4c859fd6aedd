// PgClient against a real Postgres: password authentication (md5, SCRAM-SHA-256), the unix
// socket, and TLS (pg_ssl, pg_ssl_verify) against a server with a self-signed certificate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "ds_test_util.h"

using namespace kc::datastore;
using kc::test::run_sql;
using kc::test::run_until;

namespace {

class PgClientAuthTest : public kc::test::FreshDatabaseTest {
 protected:
  // A role that must log in with `method`, and a configuration that uses it.
  PgConfig password_config(const std::string& method, const std::string& password) {
    std::string role = db_ + (method == "md5" ? "_md5" : "_scram");
    pg().create_password_role(role, password, method);
    PgConfig c = config();
    c.user = role;
    c.password = password;
    return c;
  }
  std::string stored_password_kind(const std::string& role) {
    return pg().psql(
        "SELECT CASE WHEN rolpassword LIKE 'md5%' THEN 'md5' WHEN rolpassword LIKE "
        "'SCRAM-SHA-256$%' THEN 'scram' END FROM pg_authid WHERE rolname = '" +
            role + "'",
        "postgres", "postgres");
  }
  // Connects with `c` and checks the session runs as c.user.
  void expect_logged_in_as_its_user(const PgConfig& c) {
    PgClient client(io_, c, kc::test::fast_client());
    auto r = run_sql(io_, client, {"SELECT current_user AS u", {}});
    ASSERT_TRUE(r.ok()) << r.error->describe();
    EXPECT_EQ(r.statements[0].get(0, "u"), c.user);
  }
};

TEST_F(PgClientAuthTest, Md5Password) {
  PgConfig c = password_config("md5", "s3cret-md5");
  ASSERT_EQ(stored_password_kind(c.user), "md5\n") << "the server would not ask for md5";
  expect_logged_in_as_its_user(c);
}

TEST_F(PgClientAuthTest, ScramSha256Password) {
  PgConfig c = password_config("scram-sha-256", "s3cret scram, with a comma");
  ASSERT_EQ(stored_password_kind(c.user), "scram\n");
  expect_logged_in_as_its_user(c);
}

TEST_F(PgClientAuthTest, ScramPasswordFromAFile) {
  PgConfig c = password_config("scram-sha-256", "from-a-file");
  std::string path = pg().dir() + "/" + db_ + ".password";
  std::ofstream(path) << c.password << "\n";  // a trailing newline, as secrets often have
  c.password.clear();
  c.password_file = path;
  PgClient client(io_, c, kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT 1 AS one", {}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
}

TEST_F(PgClientAuthTest, WrongPasswordIsA28P01ConnectError) {
  for (std::string method : {"md5", "scram-sha-256"}) {
    PgConfig c = password_config(method, "right");
    c.password = "wrong";
    PgClient client(io_, c, kc::test::fast_client());
    auto r = run_sql(io_, client, {"SELECT 1", {}});
    ASSERT_FALSE(r.ok()) << method;
    EXPECT_EQ(r.error->kind, PgError::Kind::connect) << method;
    EXPECT_EQ(r.error->sqlstate, "28P01") << method;
    EXPECT_NE(r.error->message.find("password authentication failed for user"), std::string::npos)
        << r.error->message;
    EXPECT_EQ(client.last_error(), r.error->message);
    EXPECT_EQ(client.metrics().protocol_errors, 0u) << "a refusal is not a protocol error";
    // While in backoff the same reason comes back at once.
    auto again = run_sql(io_, client, {"SELECT 1", {}});
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error->sqlstate, "28P01");
    EXPECT_TRUE(again.error->unavailable());
    pg().psql("DROP ROLE " + c.user, "postgres", "postgres");
  }
}

TEST_F(PgClientAuthTest, PasswordRequiredButNoneConfigured) {
  PgConfig c = password_config("scram-sha-256", "pw");
  c.password.clear();
  PgClient client(io_, c, kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, PgError::Kind::connect);
  EXPECT_NE(r.error->message.find("none is configured"), std::string::npos) << r.error->message;
}

TEST_F(PgClientAuthTest, UnixSocket) {
  PgConfig c = password_config("scram-sha-256", "over-a-socket");
  c.host = pg().dir();  // the fixture's unix_socket_directories
  PgClient client(io_, c, kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT inet_client_addr() IS NULL AS local", {}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_EQ(r.statements[0].get(0, "local"), "t");
}

TEST_F(PgClientAuthTest, SslOnAgainstAServerWithoutTls) {
  PgConfig c = config();
  c.ssl = true;
  PgClient client(io_, c, kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error->message.find("does not support TLS"), std::string::npos) << r.error->message;
}

// One TLS server for the tests below (initdb takes a second or two).
kc::test::PostgresFixture& tls_postgres() {
  static std::unique_ptr<kc::test::PostgresFixture> pg =
      std::make_unique<kc::test::PostgresFixture>(kc::test::PostgresFixture::Options{.tls = true});
  return *pg;
}

class PgClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { KC_REQUIRE_POSTGRES(); }
  PgConfig tls_config(bool ssl, bool verify) {
    PgConfig c = kc::test::config_for(tls_postgres(), "kong");
    c.ssl = ssl;
    c.ssl_verify = verify;
    return c;
  }
  std::optional<std::string> encrypted(PgClient& client) {
    auto r = run_sql(io_, client,
                     {"SELECT ssl::text AS on FROM pg_stat_ssl WHERE pid = pg_backend_pid()", {}});
    if (!r.ok()) {
      ADD_FAILURE() << r.error->describe();
      return std::nullopt;
    }
    return r.statements[0].get(0, "on");
  }
  boost::asio::io_context io_;
};

TEST_F(PgClientTlsTest, SslOnWithoutVerificationEncrypts) {
  PgClient client(io_, tls_config(true, false), kc::test::fast_client());
  EXPECT_EQ(encrypted(client), "true");
}

TEST_F(PgClientTlsTest, SslOffMeansNoTlsAtAll) {
  PgClient client(io_, tls_config(false, false), kc::test::fast_client());
  EXPECT_EQ(encrypted(client), "false");
}

TEST_F(PgClientTlsTest, VerificationRefusesASelfSignedCertificate) {
  PgClient client(io_, tls_config(true, true), kc::test::fast_client());
  auto r = run_sql(io_, client, {"SELECT 1", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->kind, PgError::Kind::connect);
  EXPECT_NE(r.error->message.find("certificate verify failed"), std::string::npos)
      << r.error->message;
  EXPECT_NE(r.error->message.find("self-signed"), std::string::npos) << r.error->message;
}

// With the certificate trusted (SSL_CERT_FILE is OpenSSL's override of the system CA file),
// verification passes for the address it names and fails for any other name.
TEST_F(PgClientTlsTest, VerificationChecksTheHostName) {
  std::string cert = tls_postgres().certificate_path();
  ASSERT_EQ(setenv("SSL_CERT_FILE", cert.c_str(), 1), 0);
  {
    PgClient client(io_, tls_config(true, true), kc::test::fast_client());
    EXPECT_EQ(encrypted(client), "true");
  }
  {
    PgConfig c = tls_config(true, true);
    c.host = "localhost";  // not in the certificate, which names IP 127.0.0.1 only
    PgClient client(io_, c, kc::test::fast_client());
    auto r = run_sql(io_, client, {"SELECT 1", {}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error->message.find("TLS handshake failed"), std::string::npos) << r.error->message;
  }
  unsetenv("SSL_CERT_FILE");
}

}  // namespace

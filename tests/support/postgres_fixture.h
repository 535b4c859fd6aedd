// A throwaway PostgreSQL 15 server (Debian's binaries) for tests: its own data directory
// in a temporary folder, 127.0.0.1 on a free port, a unix socket in the same folder, and a
// non-superuser role `kong` owning database `kong`, as a Kong 0.10 install had. Postgres
// refuses to run as root, so under uid 0 it runs as the `postgres` system user.
// stop()/start() simulate an outage: same port, same data. Roles made by
// create_password_role() must log in with md5 or scram-sha-256 (everyone else is trusted),
// and with Options::tls the server also accepts TLS, with a throwaway self-signed certificate.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace kc::test {

// Whether /usr/lib/postgresql/15/bin/{initdb,postgres} and psql are installed.
bool postgres_available();

class PostgresFixture {
 public:
  struct Options {
    // ssl = on with a certificate for CN kc-test-server, subjectAltName IP:127.0.0.1 only
    // (so a client verifying host name "localhost" must refuse it), made with the openssl CLI.
    bool tls = false;
  };

  // initdb, start, wait until it accepts connections, create role and database `kong`.
  // Throws std::runtime_error (with the server log) when any step fails.
  PostgresFixture() : PostgresFixture(Options{}) {}
  explicit PostgresFixture(Options options);
  ~PostgresFixture();  // stop() and remove the directory
  PostgresFixture(const PostgresFixture&) = delete;
  PostgresFixture& operator=(const PostgresFixture&) = delete;

  void start();  // no-op when running; blocks until ready
  void stop();   // fast shutdown (SIGINT) by PID, then SIGKILL if it hangs
  void kill9();  // crash: SIGKILL by PID
  bool running();

  const std::string& host() const { return host_; }  // "127.0.0.1"
  int port() const { return port_; }
  const std::string& user() const { return user_; }          // "kong"
  const std::string& database() const { return database_; }  // "kong"
  const std::string& dir() const { return dir_->path(); }
  std::string log() const;
  // The server's certificate (PEM), with Options::tls.
  std::string certificate_path() const { return dir() + "/server.crt"; }

  // A login role that must authenticate with `method` ("md5" or "scram-sha-256"): its
  // password is stored in that form and pg_hba.conf asks for it.
  void create_password_role(const std::string& role, const std::string& password,
                            const std::string& method);

  // A new, empty database owned by `kong` (one per test keeps tests independent).
  std::string create_database(const std::string& prefix = "kong");
  // Runs SQL (several statements allowed) with psql; throws with psql's output on error.
  // Returns rows as psql -At prints them: one line per row, fields split by '|'.
  std::string psql(const std::string& sql, const std::string& database = "kong",
                   const std::string& user = "kong");
  std::vector<std::string> psql_lines(const std::string& sql, const std::string& database = "kong",
                                      const std::string& user = "kong");

 private:
  void wait_ready();
  void require_passwords();
  void make_certificate();
  std::vector<std::string> as_postgres(std::vector<std::string> argv) const;

  Options options_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Process> server_;
  std::string host_ = "127.0.0.1";
  std::string user_ = "kong";
  std::string database_ = "kong";
  int port_ = 0;
  int next_db_ = 1;
};

// Kong 0.10's own SQL, reproduced for tests that need a database Kong created and a Kong
// node's reads and writes on it (kong/dao/migrations/postgres.lua, kong/dao/db/postgres.lua).
namespace kong010 {

// The core migrations up to 0.10.3 that matter here: schema_migrations, consumers, apis,
// plugins, nodes (+ index), ttls and the upsert_ttl() function, and the 'core' record.
std::string schema_sql();
// What Kong's DAO ran for `nodes:insert({...}, {ttl = N})`: the row, then upsert_ttl() with
// an expiry computed like Kong's (epoch milliseconds, second precision).
std::string insert_node_sql(const std::string& name, const std::string& address, int ttl_seconds);
// Kong's find_all on nodes (the LEFT OUTER JOIN on ttls), names only, sorted.
std::string select_nodes_sql();
// Kong's TTL cleanup timer body (clear_expired_ttl), as one DO block.
std::string clear_expired_ttl_sql();

}  // namespace kong010

}  // namespace kc::test

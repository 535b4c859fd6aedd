#include "support/postgres_fixture.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "support/wait.h"

namespace kc::test {

namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

// pg_hba.conf matches "+role" against members of that role: members of these two must send
// a password (rules are tried in order, so these go before initdb's trust lines).
const std::map<std::string, std::string> kPasswordGroups = {{"md5", "kc_md5_users"},
                                                            {"scram-sha-256", "kc_scram_users"}};

std::string quote(const std::string& s) {  // an SQL literal, for test-provided values only
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

bool postgres_available() {
  return access((kBin + "initdb").c_str(), X_OK) == 0 &&
         access((kBin + "postgres").c_str(), X_OK) == 0 && have_program("psql") &&
         have_program("pg_isready");
}

std::vector<std::string> PostgresFixture::as_postgres(std::vector<std::string> argv) const {
  if (geteuid() != 0) return argv;
  // setpriv execs in place (runuser would fork and stand between us and the PID we signal).
  std::vector<std::string> wrapped = {"setpriv", "--reuid=postgres", "--regid=postgres",
                                      "--clear-groups", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

PostgresFixture::PostgresFixture(Options options)
    : options_(options), dir_(std::make_unique<TempDir>()) {
  if (!postgres_available())
    throw std::runtime_error("PostgreSQL 15 server binaries not installed");
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (!pw)
      throw std::runtime_error("running as root but there is no `postgres` user to run the server");
    if (chown(dir().c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("cannot chown " + dir() + " to postgres");
  }
  // Trust auth and no fsync: a test server holds nothing worth protecting.
  auto init = run_command(as_postgres({kBin + "initdb", "-D", dir() + "/data", "-U", "postgres",
                                       "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"}),
                          120000);
  if (init.exit_code != 0) throw std::runtime_error("initdb failed:\n" + init.output);
  require_passwords();
  if (options_.tls) make_certificate();
  port_ = free_port();
  start();
  psql("CREATE ROLE kong LOGIN; CREATE ROLE kc_md5_users; CREATE ROLE kc_scram_users", "postgres",
       "postgres");
  psql("CREATE DATABASE kong OWNER kong", "postgres", "postgres");  // not in a transaction
}

PostgresFixture::~PostgresFixture() {
  try {
    stop();
  } catch (...) {
  }
}

void PostgresFixture::require_passwords() {
  std::string path = dir() + "/data/pg_hba.conf";
  std::string rules = "# kong-cluster tests (postgres_fixture.cpp): password roles\n";
  for (auto& [method, group] : kPasswordGroups)
    rules +=
        "local all +" + group + " " + method + "\nhost all +" + group + " all " + method + "\n";
  std::string initdb_rules = read_text(path);
  std::ofstream out(path, std::ios::trunc);  // truncating keeps the file's owner (postgres)
  out << rules << initdb_rules;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

void PostgresFixture::make_certificate() {
  std::string key = dir() + "/server.key";
  // P-256: key generation takes milliseconds, unlike RSA.
  auto r = run_command(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", key, "-out", certificate_path(), "-days", "2", "-subj",
       "/CN=kc-test-server", "-addext", "subjectAltName=IP:127.0.0.1"},
      30000);
  if (r.exit_code != 0) throw std::runtime_error("openssl req failed: " + r.output);
  // Postgres refuses a key that others can read, or that another user owns.
  if (chmod(key.c_str(), 0600) != 0) throw std::runtime_error("cannot chmod " + key);
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (!pw || chown(key.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("cannot chown " + key + " to postgres");
  }
}

void PostgresFixture::create_password_role(const std::string& role, const std::string& password,
                                           const std::string& method) {
  auto group = kPasswordGroups.find(method);
  if (group == kPasswordGroups.end())
    throw std::invalid_argument("create_password_role: unknown method " + method);
  psql("SET password_encryption = " + quote(method) + "; CREATE ROLE " + role + " LOGIN PASSWORD " +
           quote(password) + " IN ROLE " + group->second,
       "postgres", "postgres");
}

void PostgresFixture::start() {
  if (running()) return;
  // A TimeZone far from UTC (+12:45/+13:45) makes any confusion between local time and
  // the UTC timestamps Kong stores show up as hours of error.
  std::vector<std::string> argv = {kBin + "postgres",
                                   "-D",
                                   dir() + "/data",
                                   "-p",
                                   std::to_string(port_),
                                   "-c",
                                   "listen_addresses=" + host_,
                                   "-c",
                                   "unix_socket_directories=" + dir(),
                                   "-c",
                                   "fsync=off",
                                   "-c",
                                   "synchronous_commit=off",
                                   "-c",
                                   "full_page_writes=off",
                                   "-c",
                                   "TimeZone=Pacific/Chatham"};
  if (options_.tls) {
    for (const std::string& setting : {std::string("ssl=on"), "ssl_cert_file=" + certificate_path(),
                                       "ssl_key_file=" + dir() + "/server.key"}) {
      argv.push_back("-c");
      argv.push_back(setting);
    }
  }
  server_ = std::make_unique<Process>(as_postgres(argv), dir() + "/postgres.log");
  wait_ready();
}

void PostgresFixture::wait_ready() {
  std::string port = std::to_string(port_);
  bool ready = wait_until(
      [&] {
        if (!server_->running()) return true;  // exited: reported below
        return run_command({"pg_isready", "-q", "-h", host_, "-p", port, "-t", "1"}, 5000)
                   .exit_code == 0;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(50));
  if (!ready || !server_->running())
    throw std::runtime_error("postgres did not become ready on port " + port + ":\n" + log());
}

void PostgresFixture::stop() {
  if (!server_) return;
  if (server_->running()) {
    // SIGINT is Postgres's "fast" shutdown: it disconnects clients instead of waiting for them.
    server_->signal(SIGINT);
    if (server_->wait_exit(20000) == -1) server_->kill9();
  }
  server_.reset();
}

void PostgresFixture::kill9() {
  if (!server_) return;
  server_->kill9();
  server_.reset();
}

bool PostgresFixture::running() {
  return server_ && server_->running();
}

std::string PostgresFixture::log() const {
  return server_ ? server_->log() : std::string();
}

std::string PostgresFixture::create_database(const std::string& prefix) {
  std::string name = prefix + "_" + std::to_string(next_db_++);
  psql("CREATE DATABASE " + name + " OWNER kong", "postgres", "postgres");
  return name;
}

std::string PostgresFixture::psql(const std::string& sql, const std::string& database,
                                  const std::string& user) {
  auto r = run_command({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", host_, "-p",
                        std::to_string(port_), "-U", user, "-d", database, "-c", sql},
                       60000);
  if (r.exit_code != 0)
    throw std::runtime_error("psql failed (" + std::to_string(r.exit_code) + "): " + r.output);
  return r.output;
}

std::vector<std::string> PostgresFixture::psql_lines(const std::string& sql,
                                                     const std::string& database,
                                                     const std::string& user) {
  std::vector<std::string> lines;
  std::stringstream ss(psql(sql, database, user));
  std::string line;
  while (std::getline(ss, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

namespace kong010 {

std::string schema_sql() {
  return R"SQL(
CREATE TABLE IF NOT EXISTS schema_migrations(id text PRIMARY KEY, migrations varchar(100)[]);
CREATE TABLE IF NOT EXISTS consumers(
  id uuid PRIMARY KEY, custom_id text, username text UNIQUE,
  created_at timestamp without time zone default (CURRENT_TIMESTAMP(0) at time zone 'utc'));
CREATE TABLE IF NOT EXISTS apis(
  id uuid PRIMARY KEY, name text UNIQUE, upstream_url text, preserve_host boolean NOT NULL,
  retries smallint DEFAULT 5, https_only boolean, http_if_terminated boolean,
  hosts text, uris text, methods text, strip_uri boolean,
  upstream_connect_timeout integer, upstream_send_timeout integer, upstream_read_timeout integer,
  created_at timestamp without time zone default (CURRENT_TIMESTAMP(0) at time zone 'utc'));
CREATE TABLE IF NOT EXISTS plugins(
  id uuid, name text NOT NULL,
  api_id uuid REFERENCES apis(id) ON DELETE CASCADE,
  consumer_id uuid REFERENCES consumers(id) ON DELETE CASCADE,
  config json NOT NULL, enabled boolean NOT NULL,
  created_at timestamp without time zone default (CURRENT_TIMESTAMP(0) at time zone 'utc'),
  PRIMARY KEY (id, name));
CREATE TABLE IF NOT EXISTS nodes(
  name text,
  cluster_listening_address text,
  created_at timestamp without time zone default (CURRENT_TIMESTAMP(0) at time zone 'utc'),
  PRIMARY KEY (name));
DO $$
BEGIN
  IF (SELECT to_regclass('nodes_cluster_listening_address_idx')) IS NULL THEN
    CREATE INDEX nodes_cluster_listening_address_idx ON nodes(cluster_listening_address);
  END IF;
END$$;
CREATE TABLE IF NOT EXISTS ttls(
  primary_key_value text NOT NULL,
  primary_uuid_value uuid,
  table_name text NOT NULL,
  primary_key_name text NOT NULL,
  expire_at timestamp without time zone NOT NULL,
  PRIMARY KEY(primary_key_value, table_name));
CREATE OR REPLACE FUNCTION upsert_ttl(v_primary_key_value text, v_primary_uuid_value uuid, v_primary_key_name text, v_table_name text, v_expire_at timestamp) RETURNS VOID AS $$
BEGIN
  LOOP
    UPDATE ttls SET expire_at = v_expire_at WHERE primary_key_value = v_primary_key_value AND table_name = v_table_name;
    IF found then
      RETURN;
    END IF;
    BEGIN
      INSERT INTO ttls(primary_key_value, primary_uuid_value, primary_key_name, table_name, expire_at) VALUES(v_primary_key_value, v_primary_uuid_value, v_primary_key_name, v_table_name, v_expire_at);
      RETURN;
    EXCEPTION WHEN unique_violation THEN
    END;
  END LOOP;
END;
$$ LANGUAGE 'plpgsql';
INSERT INTO schema_migrations(id, migrations) VALUES ('core', ARRAY[
  '2015-01-12-175310_skeleton', '2015-01-12-175310_init_schema', '2015-11-23-817313_nodes',
  '2016-02-29-142793_ttls', '2016-09-05-212515_retries', '2016-09-16-141423_upstreams',
  '2016-12-14-172100_move_ssl_certs_to_core', '2016-11-11-151900_new_apis_router_1',
  '2016-11-11-151900_new_apis_router_2', '2016-11-11-151900_new_apis_router_3',
  '2016-01-25-103600_unique_custom_id', '2017-01-24-132600_upstream_timeouts',
  '2017-01-24-132600_upstream_timeouts_2', '2017-03-27-132300_anonymous',
  '2017-04-18-153000_unique_plugins_id', '2017-04-18-153000_unique_plugins_id_2']);
)SQL";
}

std::string insert_node_sql(const std::string& name, const std::string& address, int ttl_seconds) {
  return "INSERT INTO nodes(name, cluster_listening_address) VALUES (" + quote(name) + ", " +
         quote(address) + ");\nSELECT upsert_ttl(" + quote(name) +
         ", NULL, 'name', 'nodes', to_timestamp(" +
         "(extract(epoch from now() at time zone 'utc')::bigint*1000 + " +
         std::to_string(ttl_seconds) + "*1000)/1000) at time zone 'UTC');";
}

std::string select_nodes_sql() {
  return "SELECT name FROM nodes LEFT OUTER JOIN ttls ON (nodes.name = ttls.primary_key_value)"
         " WHERE (ttls.primary_key_value IS NULL"
         " OR (ttls.table_name = 'nodes' AND expire_at > CURRENT_TIMESTAMP(0) at time zone 'utc'))"
         " ORDER BY name";
}

std::string clear_expired_ttl_sql() {
  return R"SQL(
DO $$
DECLARE v record;
BEGIN
  FOR v IN SELECT * FROM ttls WHERE expire_at < CURRENT_TIMESTAMP(0) at time zone 'utc' LOOP
    EXECUTE format('DELETE FROM %s WHERE %s=%L', v.table_name, v.primary_key_name, v.primary_key_value);
    EXECUTE format('DELETE FROM ttls WHERE primary_key_value=%L AND table_name=%L', v.primary_key_value, v.table_name);
  END LOOP;
END$$;
)SQL";
}

}  // namespace kong010

}  // namespace kc::test

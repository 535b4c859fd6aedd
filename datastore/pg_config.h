// Postgres connection settings under Kong's own key names (pg_host, pg_port, ...), so an
// existing kong.conf configures the agent's datastore unchanged.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kc::datastore {

struct PgConfig {
  std::string host = "127.0.0.1";  // pg_host: IP, DNS name, or a unix socket directory
  int port = 5432;                 // pg_port
  std::string user = "kong";       // pg_user
  std::string password;            // pg_password
  std::string password_file;       // pg_password_file: a file holding only the password
  std::string database = "kong";   // pg_database
  bool ssl = false;                // pg_ssl: off means no TLS at all, as in Kong
  bool ssl_verify = false;         // pg_ssl_verify: verify the certificate and host name

  // One message per bad key, each naming the key ("pg_port: ..."); empty when valid.
  std::vector<std::string> validate() const;

  // "host:port/database" for logs and errors (never the password).
  std::string describe() const;
};

// Reads pg_* keys through `lookup` (the agent's merged kong.conf / KONG_PG_* / flags view),
// keeping Kong's default for absent keys. Unparsable values are reported in `errors` by key
// name; validate() is applied too.
PgConfig pg_config_from(
    const std::function<std::optional<std::string>(std::string_view key)>& lookup,
    std::vector<std::string>& errors);

// Kong's boolean spellings: on/off, true/false, yes/no, 1/0.
std::optional<bool> parse_kong_bool(std::string_view text);

}  // namespace kc::datastore

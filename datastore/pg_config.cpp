#include "datastore/pg_config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kc::datastore {

namespace {

bool has_space_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); });
}

std::string lower(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out.push_back(static_cast<char>(std::tolower(c)));
  return out;
}

}  // namespace

std::optional<bool> parse_kong_bool(std::string_view text) {
  std::string v = lower(text);
  if (v == "on" || v == "true" || v == "yes" || v == "1") return true;
  if (v == "off" || v == "false" || v == "no" || v == "0") return false;
  return std::nullopt;
}

std::vector<std::string> PgConfig::validate() const {
  std::vector<std::string> errors;
  if (host.empty())
    errors.emplace_back("pg_host: must not be empty");
  else if (has_space_or_control(host))
    errors.emplace_back("pg_host: must not contain spaces");
  if (port < 1 || port > 65535)
    errors.push_back("pg_port: must be between 1 and 65535 (got " + std::to_string(port) + ")");
  if (user.empty()) errors.emplace_back("pg_user: must not be empty");
  if (database.empty()) errors.emplace_back("pg_database: must not be empty");
  if (!password.empty() && !password_file.empty())
    errors.emplace_back("pg_password_file: cannot be combined with pg_password");
  if (!password_file.empty() && access(password_file.c_str(), R_OK) != 0)
    errors.push_back("pg_password_file: cannot read " + password_file);
  if (ssl_verify && !ssl) errors.emplace_back("pg_ssl_verify: requires pg_ssl = on");
  return errors;
}

std::string PgConfig::describe() const {
  return host + ":" + std::to_string(port) + "/" + database;
}

PgConfig pg_config_from(const std::function<std::optional<std::string>(std::string_view)>& lookup,
                        std::vector<std::string>& errors) {
  PgConfig c;
  auto text = [&](std::string_view key, std::string& field) {
    if (auto v = lookup(key)) field = *v;
  };
  text("pg_host", c.host);
  text("pg_user", c.user);
  text("pg_password", c.password);
  text("pg_password_file", c.password_file);
  text("pg_database", c.database);
  if (auto v = lookup("pg_port")) {
    int port = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), port);
    if (ec != std::errc() || end != v->data() + v->size())
      errors.push_back("pg_port: not a number: '" + *v + "'");
    else
      c.port = port;
  }
  auto flag = [&](std::string_view key, bool& field) {
    auto v = lookup(key);
    if (!v) return;
    if (auto b = parse_kong_bool(*v))
      field = *b;
    else
      errors.push_back(std::string(key) + ": expected on or off, got '" + *v + "'");
  };
  flag("pg_ssl", c.ssl);
  flag("pg_ssl_verify", c.ssl_verify);
  for (auto& e : c.validate()) errors.push_back(e);
  return c;
}

}  // namespace kc::datastore

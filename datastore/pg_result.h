// What goes into the Postgres client (statements with parameters) and what comes out (rows,
// or an error that names the server, the database and the SQLSTATE).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kc::datastore {

// A statement parameter in text form; nullopt is SQL NULL. Values never become SQL text:
// they travel separately (the protocol's Bind message), so no quoting or escaping exists
// anywhere.
using Param = std::optional<std::string>;

struct Statement {
  std::string sql;  // exactly one SQL statement, placeholders $1, $2, ...
  std::vector<Param> params;
};

// The result of one statement, text format.
struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  uint64_t affected = 0;  // from CommandComplete's tag: rows inserted/updated/deleted/selected

  // Index of a column by name, or -1.
  int column(std::string_view name) const;
  // The value at (row, column name); nullopt for SQL NULL or an unknown column.
  std::optional<std::string> get(size_t row, std::string_view name) const;
};

struct PgError {
  enum class Kind {
    connect,   // could not connect (or not connected now: retrying in the background)
    lost,      // the connection broke while the statement ran
    timeout,   // the statement took longer than the query timeout (connection reset)
    query,     // the server rejected the statement
    closed,    // the client was closed
    overload,  // the queue was full
  };
  Kind kind = Kind::query;
  std::string message;   // the server's text or the client's, one line
  std::string sqlstate;  // from the server; for client-side failures a class 08 code
  std::string host;
  int port = 0;
  std::string database;

  // "postgres 127.0.0.1:5432/kong: [42P01] relation \"nodes\" does not exist"
  std::string describe() const;
  // Whether the datastore was unreachable (retry later), rather than the statement wrong.
  bool unavailable() const { return kind != Kind::query; }
};

struct Result {
  std::optional<PgError> error;
  std::vector<Rows> statements;  // one entry per submitted statement that ran, in order

  bool ok() const { return !error; }
};

using ResultHandler = std::function<void(Result)>;

}  // namespace kc::datastore

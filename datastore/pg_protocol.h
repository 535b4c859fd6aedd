// One Postgres connection's protocol state machine, without any I/O: bytes from the server go
// in (receive), bytes for the server come out (take_output), and what happened is read off
// the object (ready, take_step, failure). The startup phase authenticates (cleartext, MD5,
// SCRAM-SHA-256); then each statement is one extended-protocol round (Parse, Bind, Describe,
// Execute, Sync) ending at ReadyForQuery. Anything the server sends that the protocol does
// not allow in the current phase ends the connection with a one-line failure; nothing
// here throws to the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "datastore/pg_auth.h"
#include "datastore/pg_result.h"
#include "datastore/pg_wire.h"

namespace kc::datastore {

struct StartupParameters {
  std::string user;
  std::string database;
  std::string application_name;
  std::string password;  // empty: none configured
};

// An ErrorResponse's fields that the client reports.
struct ServerError {
  std::string severity;  // V (not localized), else S
  std::string sqlstate;  // C
  std::string message;   // M, then " (D)" when a detail came; one line
};

// The end of one statement: its rows, or the server's error.
struct StepOutcome {
  Rows rows;
  std::optional<ServerError> error;
};

// Why the connection cannot be used any more.
struct ProtocolFailure {
  enum class Cause {
    server,       // the server's own ErrorResponse (bad password, FATAL shutdown, ...)
    malformed,    // a message that violates the protocol
    unsupported,  // an authentication method this client does not implement
    auth,         // authentication could not proceed (no password, SCRAM verification)
  };
  Cause cause = Cause::malformed;
  std::string message;
  std::string sqlstate;
};

// What one statement's rows may hold in memory (values plus per-value and per-row overhead).
// Each message is already capped (wire::kMaxMessage), but a server can stream rows without
// end; the agent's statements read a few rows of the nodes table.
inline constexpr size_t kMaxResultBytes = size_t{64} * 1024 * 1024;

class PgProtocol {
 public:
  explicit PgProtocol(size_t max_message = wire::kMaxMessage, size_t max_result = kMaxResultBytes)
      : decoder_(max_message), max_result_(max_result) {}

  // Queues the StartupMessage. Once.
  void start(StartupParameters parameters);
  // Queues one statement; only when idle(). A statement that cannot be encoded (a NUL byte
  // in its SQL) completes at once with an error step instead.
  void send(const Statement& statement);
  // Feeds bytes from the server. Never throws: a violation sets failure().
  void receive(std::string_view bytes);

  bool has_output() const { return !output_.empty(); }
  std::string take_output();

  // Authenticated, and no statement in flight.
  bool idle() const { return phase_ == Phase::idle; }
  // A statement's outcome, once its ReadyForQuery arrived.
  std::optional<StepOutcome> take_step();
  const std::optional<ProtocolFailure>& failure() const { return failure_; }
  // ReadyForQuery's status: 'I' idle, 'T' in a transaction, 'E' in a failed transaction.
  char transaction_status() const { return transaction_status_; }
  const std::string& server_version() const { return server_version_; }

  // Called with each NoticeResponse's message (one line).
  std::function<void(const std::string&)> on_notice;

 private:
  enum class Phase { created, authenticating, starting, idle, busy, failed };

  void handle(const wire::Message& m);
  void handle_authentication(wire::Reader& r);
  void start_sasl(wire::Reader& r);
  void handle_error(wire::Reader& r);
  void handle_row_description(wire::Reader& r);
  void handle_data_row(wire::Reader& r);
  void handle_command_complete(wire::Reader& r);
  void ready_for_query(wire::Reader& r);
  void fail(ProtocolFailure::Cause cause, const std::string& message, std::string sqlstate);
  const std::string& password_or_fail() const;

  Phase phase_ = Phase::created;
  wire::Decoder decoder_;
  std::string output_;
  StartupParameters startup_;
  std::unique_ptr<auth::ScramSha256> scram_;
  bool sasl_continued_ = false;
  bool sasl_verified_ = false;
  bool has_row_description_ = false;
  size_t max_result_;
  size_t result_bytes_ = 0;  // the current statement's rows, as counted against max_result_
  std::optional<StepOutcome> current_;
  std::optional<StepOutcome> finished_;
  std::optional<ProtocolFailure> failure_;
  char transaction_status_ = 'I';
  std::string server_version_;
};

}  // namespace kc::datastore

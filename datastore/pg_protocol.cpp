#include "datastore/pg_protocol.h"

#include <charconv>

#include "datastore/pg_text.h"

namespace kc::datastore {

namespace {

// AuthenticationRequest codes (the 'R' message's first field).
enum AuthCode : int32_t {
  kAuthOk = 0,
  kAuthKerberosV5 = 2,
  kAuthCleartext = 3,
  kAuthMd5 = 5,
  kAuthScmCredential = 6,
  kAuthGss = 7,
  kAuthGssContinue = 8,
  kAuthSspi = 9,
  kAuthSasl = 10,
  kAuthSaslContinue = 11,
  kAuthSaslFinal = 12,
};

const char* unsupported_method(int32_t code) {
  switch (code) {
    case kAuthKerberosV5:
      return "Kerberos V5";
    case kAuthScmCredential:
      return "SCM credentials";
    case kAuthGss:
    case kAuthGssContinue:
      return "GSSAPI";
    case kAuthSspi:
      return "SSPI";
    default:
      return nullptr;
  }
}

// PQcmdTuples' rule: the row count is the last word of these commands' tags ("INSERT 0 3",
// "UPDATE 2", "SELECT 5"); other commands ("CREATE TABLE") affect none.
uint64_t affected_rows(std::string_view tag) {
  static constexpr std::string_view kCounted[] = {"INSERT ", "UPDATE ", "DELETE ", "SELECT ",
                                                  "MOVE ",   "FETCH ",  "COPY ",   "MERGE "};
  bool counted = false;
  for (auto prefix : kCounted) counted = counted || tag.substr(0, prefix.size()) == prefix;
  if (!counted) return 0;
  auto last = tag.substr(tag.rfind(' ') + 1);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), n);
  return ec == std::errc() && end == last.data() + last.size() ? n : 0;
}

}  // namespace

void PgProtocol::start(StartupParameters parameters) {
  if (phase_ != Phase::created) throw std::logic_error("PgProtocol::start called twice");
  startup_ = std::move(parameters);
  try {
    wire::startup_message(output_, {{"user", startup_.user},
                                    {"database", startup_.database},
                                    {"application_name", startup_.application_name},
                                    {"client_encoding", "UTF8"}});
    phase_ = Phase::authenticating;
  } catch (const std::invalid_argument& e) {
    output_.clear();
    fail(ProtocolFailure::Cause::auth, std::string("startup parameters: ") + e.what(), "08001");
  }
}

void PgProtocol::send(const Statement& statement) {
  if (phase_ != Phase::idle) throw std::logic_error("PgProtocol::send while not idle");
  current_.emplace();
  has_row_description_ = false;
  result_bytes_ = 0;
  std::string out;
  try {
    wire::parse(out, statement.sql);
    wire::bind(out, statement.params);
  } catch (const std::invalid_argument& e) {
    current_->error =
        ServerError{"ERROR", "22021", std::string("cannot send statement: ") + e.what()};
    finished_ = std::move(current_);
    current_.reset();
    return;
  }
  wire::describe_portal(out);
  wire::execute(out);
  wire::sync(out);
  output_ += out;
  phase_ = Phase::busy;
}

std::string PgProtocol::take_output() {
  std::string out;
  out.swap(output_);
  return out;
}

std::optional<StepOutcome> PgProtocol::take_step() {
  auto step = std::move(finished_);
  finished_.reset();
  return step;
}

void PgProtocol::receive(std::string_view bytes) {
  if (phase_ == Phase::failed) return;
  try {
    decoder_.feed(bytes);
    while (phase_ != Phase::failed) {
      auto m = decoder_.next();
      if (!m) break;
      handle(*m);
    }
  } catch (const wire::ProtocolError& e) {
    fail(ProtocolFailure::Cause::malformed, std::string("protocol error: ") + e.what(), "08P01");
  } catch (const auth::AuthError& e) {
    fail(ProtocolFailure::Cause::auth, e.what(), "28000");
  } catch (const std::exception& e) {
    fail(ProtocolFailure::Cause::malformed, std::string("protocol error: ") + e.what(), "08P01");
  }
}

void PgProtocol::fail(ProtocolFailure::Cause cause, const std::string& message,
                      std::string sqlstate) {
  if (failure_) return;
  phase_ = Phase::failed;
  failure_ = ProtocolFailure{cause, one_line(message), std::move(sqlstate)};
}

void PgProtocol::handle(const wire::Message& m) {
  wire::Reader r(m.type, m.body);
  // Asynchronous messages: allowed whenever the connection is up.
  switch (m.type) {
    case 'E':
      handle_error(r);
      return;
    case 'N': {
      ServerError notice;
      while (char code = static_cast<char>(r.byte())) {
        auto value = r.cstring();
        if (code == 'M') notice.message = one_line(value);
      }
      r.expect_end();
      if (on_notice) on_notice(notice.message);
      return;
    }
    case 'S': {
      auto name = r.cstring();
      auto value = r.cstring();
      r.expect_end();
      if (name == "server_version") server_version_ = one_line(value);
      return;
    }
    case 'A':  // NotificationResponse: we LISTEN to nothing, so it is someone's NOTIFY noise
      r.int32();
      r.cstring();
      r.cstring();
      r.expect_end();
      return;
    default:
      break;
  }
  switch (phase_) {
    case Phase::authenticating:
      if (m.type == 'R') return handle_authentication(r);
      if (m.type == 'v')
        throw wire::ProtocolError("the server does not speak protocol 3.0 as sent");
      break;
    case Phase::starting:
      if (m.type == 'K') {  // BackendKeyData: for cancel requests, which we never send
        r.int32();
        r.int32();
        r.expect_end();
        return;
      }
      if (m.type == 'Z') return ready_for_query(r);
      break;
    case Phase::busy:
      switch (m.type) {
        case '1':  // ParseComplete
        case '2':  // BindComplete
        case 'n':  // NoData: a statement without a result set
        case 'I':  // EmptyQueryResponse
          r.expect_end();
          return;
        case 'T':
          return handle_row_description(r);
        case 'D':
          return handle_data_row(r);
        case 'C':
          return handle_command_complete(r);
        case 'Z':
          return ready_for_query(r);
        default:
          break;
      }
      break;
    default:
      break;
  }
  throw wire::ProtocolError("unexpected message " + wire::type_name(m.type) +
                            (phase_ == Phase::idle ? " while idle" : ""));
}

const std::string& PgProtocol::password_or_fail() const {
  if (startup_.password.empty())
    throw auth::AuthError(
        "the server asks for a password, but none is configured (pg_password or "
        "pg_password_file)");
  return startup_.password;
}

void PgProtocol::handle_authentication(wire::Reader& r) {
  int32_t code = r.int32();
  switch (code) {
    case kAuthOk:
      r.expect_end();
      // A server that skips SCRAM's last step would never prove it knows the password.
      if (scram_ && !sasl_verified_)
        throw auth::AuthError("the server ended SCRAM authentication without its signature");
      phase_ = Phase::starting;
      return;
    case kAuthCleartext:
      r.expect_end();
      wire::password_message(output_, password_or_fail());
      return;
    case kAuthMd5: {
      auto salt = r.bytes(4);
      r.expect_end();
      wire::password_message(output_, auth::md5_password(startup_.user, password_or_fail(), salt));
      return;
    }
    case kAuthSasl:
      return start_sasl(r);
    case kAuthSaslContinue:
      if (!scram_ || sasl_continued_) throw wire::ProtocolError("unexpected SASLContinue");
      sasl_continued_ = true;
      wire::sasl_response(output_, scram_->client_final(r.rest()));
      return;
    case kAuthSaslFinal:
      if (!scram_ || !sasl_continued_ || sasl_verified_)
        throw wire::ProtocolError("unexpected SASLFinal");
      scram_->verify_server_final(r.rest());
      sasl_verified_ = true;
      return;
    default: {
      const char* name = unsupported_method(code);
      fail(ProtocolFailure::Cause::unsupported,
           std::string("the server requires ") +
               (name ? name : "an unknown method (" + std::to_string(code) + ")") +
               " authentication; kong-cluster supports password, md5 and scram-sha-256",
           "28000");
      return;
    }
  }
}

void PgProtocol::start_sasl(wire::Reader& r) {
  if (scram_) throw wire::ProtocolError("a second SASL negotiation");
  std::string offered;
  bool scram = false;
  while (true) {
    auto mechanism = r.cstring();
    if (mechanism.empty()) break;
    scram = scram || mechanism == auth::ScramSha256::kMechanism;
    offered += (offered.empty() ? "" : ", ") + std::string(mechanism);
  }
  r.expect_end();
  if (!scram) {
    // SCRAM-SHA-256-PLUS alone: channel binding, which this client does not implement.
    fail(ProtocolFailure::Cause::unsupported,
         "the server offers only SASL mechanisms kong-cluster does not support (" + offered +
             "); it supports SCRAM-SHA-256",
         "28000");
    return;
  }
  scram_ = std::make_unique<auth::ScramSha256>(password_or_fail());
  wire::sasl_initial_response(output_, auth::ScramSha256::kMechanism, scram_->client_first());
}

void PgProtocol::handle_error(wire::Reader& r) {
  ServerError e;
  std::string severity_localized;
  std::string detail;
  while (char code = static_cast<char>(r.byte())) {
    auto value = r.cstring();
    switch (code) {
      case 'S':
        severity_localized = value;
        break;
      case 'V':
        e.severity = value;
        break;
      case 'C':
        e.sqlstate = value;
        break;
      case 'M':
        e.message = one_line(value);
        break;
      case 'D':
        detail = one_line(value);
        break;
      default:
        break;
    }
  }
  r.expect_end();
  if (e.severity.empty()) e.severity = severity_localized;
  if (e.message.empty()) e.message = "error without a message";
  if (!detail.empty()) e.message += " (" + detail + ")";
  bool fatal = e.severity == "FATAL" || e.severity == "PANIC";
  // Before ReadyForQuery any error ends the attempt (a wrong password, an unknown database);
  // later, FATAL means the server is closing this session (shutdown, terminated backend).
  if (phase_ != Phase::busy || fatal) {
    fail(ProtocolFailure::Cause::server, e.message, e.sqlstate);
    return;
  }
  if (!current_->error) current_->error = std::move(e);
}

void PgProtocol::handle_row_description(wire::Reader& r) {
  int16_t count = r.int16();
  if (count < 0) throw wire::ProtocolError("RowDescription has a negative column count");
  current_->rows.columns.clear();
  for (int16_t i = 0; i < count; ++i) {
    current_->rows.columns.emplace_back(r.cstring());
    r.int32();  // table OID
    r.int16();  // column number
    r.int32();  // type OID
    r.int16();  // type size
    r.int32();  // type modifier
    if (r.int16() != 0) throw wire::ProtocolError("a result column is not in text format");
  }
  r.expect_end();
  has_row_description_ = true;
}

void PgProtocol::handle_data_row(wire::Reader& r) {
  if (!has_row_description_) throw wire::ProtocolError("DataRow before RowDescription");
  auto& rows = current_->rows;
  int16_t count = r.int16();
  if (count < 0 || static_cast<size_t>(count) != rows.columns.size())
    throw wire::ProtocolError("DataRow has " + std::to_string(count) + " columns, not " +
                              std::to_string(rows.columns.size()));
  result_bytes_ +=
      sizeof(std::vector<std::optional<std::string>>) + count * sizeof(std::optional<std::string>);
  auto& row = rows.rows.emplace_back();
  row.reserve(rows.columns.size());
  for (int16_t i = 0; i < count; ++i) {
    int32_t length = r.int32();
    if (length == -1) {
      row.emplace_back(std::nullopt);
    } else if (length < 0) {
      throw wire::ProtocolError("DataRow has a negative value length");
    } else {
      result_bytes_ += static_cast<size_t>(length);
      row.emplace_back(std::string(r.bytes(static_cast<size_t>(length))));
    }
  }
  r.expect_end();
  if (result_bytes_ > max_result_)
    throw wire::ProtocolError("a result larger than " + std::to_string(max_result_) + " bytes");
}

void PgProtocol::handle_command_complete(wire::Reader& r) {
  auto tag = r.cstring();
  r.expect_end();
  current_->rows.affected = affected_rows(tag);
}

void PgProtocol::ready_for_query(wire::Reader& r) {
  char status = static_cast<char>(r.byte());
  r.expect_end();
  if (status != 'I' && status != 'T' && status != 'E')
    throw wire::ProtocolError("ReadyForQuery has an unknown status " + wire::type_name(status));
  transaction_status_ = status;
  if (phase_ == Phase::busy) {
    finished_ = std::move(current_);
    current_.reset();
  }
  phase_ = Phase::idle;
}

}  // namespace kc::datastore

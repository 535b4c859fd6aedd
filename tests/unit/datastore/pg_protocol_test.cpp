// The protocol state machine without sockets: scripted server bytes in, client bytes out.
#include "datastore/pg_protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "datastore/pg_auth.h"

namespace kc::datastore {
namespace {

using namespace std::string_literals;

std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}
std::string be16(uint16_t v) {
  return {char(v >> 8), char(v & 0xff)};
}
std::string frame(char type, const std::string& body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + body;
}
std::string auth(int32_t code, const std::string& rest = "") {
  return frame('R', be32(static_cast<uint32_t>(code)) + rest);
}
std::string ready(char status = 'I') {
  return frame('Z', std::string(1, status));
}
std::string startup_done() {
  return auth(0) + frame('S', "server_version\0"s + "15.18\0"s) + frame('K', be32(1) + be32(2)) +
         ready();
}
std::string row_description(const std::vector<std::string>& names) {
  std::string body = be16(static_cast<uint16_t>(names.size()));
  for (auto& n : names)
    body += n + "\0"s + be32(0) + be16(0) + be32(25) + be16(0xffff) + be32(0xffffffff) + be16(0);
  return frame('T', body);
}
std::string data_row(const std::vector<std::optional<std::string>>& values) {
  std::string body = be16(static_cast<uint16_t>(values.size()));
  for (auto& v : values) body += v ? be32(static_cast<uint32_t>(v->size())) + *v : be32(0xffffffff);
  return frame('D', body);
}
std::string error(const std::string& severity, const std::string& code, const std::string& message,
                  const std::string& detail = "") {
  std::string body =
      "S" + severity + "\0"s + "V" + severity + "\0"s + "C" + code + "\0"s + "M" + message + "\0"s;
  if (!detail.empty()) body += "D" + detail + "\0"s;
  return frame('E', body + "\0"s);
}

class PgProtocolTest : public ::testing::Test {
 protected:
  void start(const std::string& password = "") {
    protocol_.start({"kong", "kongdb", "test", password});
    startup_ = protocol_.take_output();
  }
  // Starts and authenticates without a password, so statements can be sent.
  void connect() {
    start();
    protocol_.receive(startup_done());
    ASSERT_TRUE(protocol_.idle());
  }
  PgProtocol protocol_;
  std::string startup_;
};

TEST_F(PgProtocolTest, StartupNamesUserDatabaseAndApplication) {
  start();
  EXPECT_NE(startup_.find("user\0kong\0"s), std::string::npos);
  EXPECT_NE(startup_.find("database\0kongdb\0"s), std::string::npos);
  EXPECT_NE(startup_.find("application_name\0test\0"s), std::string::npos);
  EXPECT_NE(startup_.find("client_encoding\0UTF8\0"s), std::string::npos);
  EXPECT_FALSE(protocol_.idle());
  protocol_.receive(startup_done());
  EXPECT_TRUE(protocol_.idle());
  EXPECT_EQ(protocol_.server_version(), "15.18");
  EXPECT_FALSE(protocol_.failure());
}

TEST_F(PgProtocolTest, CleartextAndMd5Passwords) {
  start("secret");
  protocol_.receive(auth(3));
  EXPECT_EQ(protocol_.take_output(), frame('p', "secret\0"s));
  protocol_.receive(auth(5, "\x01\x02\xfe\xff"s));
  EXPECT_EQ(protocol_.take_output(),
            frame('p', auth::md5_password("kong", "secret", "\x01\x02\xfe\xff"s) + "\0"s));
  protocol_.receive(startup_done());
  EXPECT_TRUE(protocol_.idle());
}

TEST_F(PgProtocolTest, PasswordRequestWithoutPasswordFails) {
  start();
  protocol_.receive(auth(5, "salt"));
  ASSERT_TRUE(protocol_.failure());
  EXPECT_NE(protocol_.failure()->message.find("pg_password"), std::string::npos);
  EXPECT_FALSE(protocol_.has_output());
}

TEST_F(PgProtocolTest, UnsupportedAuthenticationMethodsAreNamed) {
  for (auto [code, name] :
       {std::pair{7, "GSSAPI"}, {9, "SSPI"}, {2, "Kerberos V5"}, {42, "(42)"}}) {
    PgProtocol p;
    p.start({"kong", "kong", "test", "pw"});
    p.receive(auth(code));
    ASSERT_TRUE(p.failure()) << name;
    EXPECT_EQ(p.failure()->cause, ProtocolFailure::Cause::unsupported);
    EXPECT_NE(p.failure()->message.find(name), std::string::npos) << p.failure()->message;
  }
  start("pw");
  protocol_.receive(auth(10, "SCRAM-SHA-256-PLUS\0\0"s));
  ASSERT_TRUE(protocol_.failure());
  EXPECT_EQ(protocol_.failure()->cause, ProtocolFailure::Cause::unsupported);
  EXPECT_NE(protocol_.failure()->message.find("SCRAM-SHA-256-PLUS"), std::string::npos);
}

TEST_F(PgProtocolTest, ScramExchangeAndAServerThatSkipsItsProof) {
  start("pencil");
  protocol_.receive(auth(10, "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"s));
  std::string initial = protocol_.take_output();
  ASSERT_NE(initial.find("SCRAM-SHA-256\0"s), std::string::npos);
  auto nonce_at = initial.find("r=");
  ASSERT_NE(nonce_at, std::string::npos);
  std::string nonce = initial.substr(nonce_at + 2);
  protocol_.receive(auth(11, "r=" + nonce + "server,s=QUJDRA==,i=4096"));
  std::string final_message = protocol_.take_output();
  EXPECT_NE(final_message.find("c=biws,r=" + nonce + "server,p="), std::string::npos);
  // AuthenticationOk without the server's signature: the server proved nothing.
  protocol_.receive(auth(0));
  ASSERT_TRUE(protocol_.failure());
  EXPECT_EQ(protocol_.failure()->cause, ProtocolFailure::Cause::auth);
  EXPECT_NE(protocol_.failure()->message.find("signature"), std::string::npos);
}

TEST_F(PgProtocolTest, StatementRowsNullsAndAffectedCount) {
  connect();
  protocol_.send({"SELECT $1::text AS a, NULL AS b", {std::string("x"), std::nullopt}});
  std::string sent = protocol_.take_output();
  EXPECT_EQ(sent[0], 'P');
  EXPECT_FALSE(protocol_.idle());
  std::string answer = frame('1', "") + frame('2', "") + row_description({"a", "b"}) +
                       data_row({std::string("x"), std::nullopt}) +
                       data_row({std::string(""), std::string("y")}) + frame('C', "SELECT 2\0"s) +
                       ready();
  // Split at every byte: the outcome appears only with the last one.
  for (size_t i = 0; i + 1 < answer.size(); ++i) {
    protocol_.receive(answer.substr(i, 1));
    ASSERT_FALSE(protocol_.take_step()) << i;
  }
  protocol_.receive(answer.substr(answer.size() - 1));
  auto step = protocol_.take_step();
  ASSERT_TRUE(step);
  EXPECT_FALSE(step->error);
  EXPECT_EQ(step->rows.columns, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(step->rows.rows.size(), 2u);
  EXPECT_EQ(step->rows.rows[0][0], "x");
  EXPECT_EQ(step->rows.rows[0][1], std::nullopt);
  EXPECT_EQ(step->rows.rows[1][0], "");
  EXPECT_EQ(step->rows.affected, 2u);
  EXPECT_TRUE(protocol_.idle());

  for (auto [tag, n] : {std::pair{"INSERT 0 3", 3u},
                        {"UPDATE 7", 7u},
                        {"DELETE 0", 0u},
                        {"CREATE TABLE", 0u},
                        {"BEGIN", 0u}}) {
    protocol_.send({"X", {}});
    protocol_.receive(frame('1', "") + frame('2', "") + frame('n', "") +
                      frame('C', std::string(tag) + "\0"s) + ready());
    auto s = protocol_.take_step();
    ASSERT_TRUE(s) << tag;
    EXPECT_EQ(s->rows.affected, n) << tag;
  }
}

TEST_F(PgProtocolTest, ServerErrorEndsTheStepNotTheConnection) {
  connect();
  protocol_.send({"SELECT * FROM nope", {}});
  protocol_.receive(error("ERROR", "42P01", "relation \"nope\"\ndoes not exist", "a\tdetail") +
                    ready('E'));
  auto step = protocol_.take_step();
  ASSERT_TRUE(step && step->error);
  EXPECT_EQ(step->error->sqlstate, "42P01");
  EXPECT_EQ(step->error->message, "relation \"nope\" does not exist (a detail)");
  EXPECT_EQ(protocol_.transaction_status(), 'E');
  EXPECT_TRUE(protocol_.idle());
  EXPECT_FALSE(protocol_.failure());
}

TEST_F(PgProtocolTest, FatalErrorsEndTheConnection) {
  start("pw");
  protocol_.receive(error("FATAL", "28P01", "password authentication failed for user \"kong\""));
  ASSERT_TRUE(protocol_.failure());
  EXPECT_EQ(protocol_.failure()->cause, ProtocolFailure::Cause::server);
  EXPECT_EQ(protocol_.failure()->sqlstate, "28P01");

  PgProtocol p;
  p.start({"kong", "kong", "t", ""});
  p.receive(startup_done());
  p.send({"SELECT pg_sleep(10)", {}});
  p.receive(error("FATAL", "57P01", "terminating connection due to administrator command"));
  ASSERT_TRUE(p.failure());
  EXPECT_EQ(p.failure()->sqlstate, "57P01");
}

TEST_F(PgProtocolTest, NoticesAndParameterChangesAreHandledAnywhere) {
  std::vector<std::string> notices;
  protocol_.on_notice = [&](const std::string& m) { notices.push_back(m); };
  connect();
  protocol_.receive(frame('N', "SNOTICE\0Mrelation exists,\nskipping\0\0"s) +
                    frame('S', "TimeZone\0UTC\0"s) + frame('A', be32(7) + "ch\0payload\0"s));
  EXPECT_EQ(notices, std::vector<std::string>{"relation exists, skipping"});
  EXPECT_TRUE(protocol_.idle());
  EXPECT_FALSE(protocol_.failure());
}

// Each hostile input ends the connection with a one-line failure, never more.
TEST_F(PgProtocolTest, HostileInputFailsCleanly) {
  struct Case {
    const char* what;
    std::string bytes;
    const char* expect;
    bool statement_in_flight = false;
  };
  std::vector<Case> cases = {
      {"bad length", "Z"s + be32(2), "invalid length"},
      {"over the limit", "D"s + be32(0x7fffffff), "exceeds the limit"},
      {"unexpected type while idle", frame('D', be16(0)), "unexpected message 'D' while idle"},
      {"unknown type", frame('\x01', ""), "unexpected message 0x01", true},
      {"truncated field", frame('S', "server_version"), "unterminated string"},
      {"trailing bytes", frame('Z', "II"), "trailing", true},
      {"bad status", frame('Z', "Q"), "unknown status", true},
      {"negative value length", row_description({"a"}) + frame('D', be16(1) + be32(0xfffffffe)),
       "negative value length", true},
      {"value past the end", row_description({"a"}) + frame('D', be16(1) + be32(10) + "abc"),
       "truncated field", true},
  };
  for (auto& c : cases) {
    PgProtocol p;
    p.start({"kong", "kong", "t", ""});
    p.receive(startup_done());
    if (c.statement_in_flight) p.send({"SELECT 1", {}});
    p.receive(c.bytes);
    ASSERT_TRUE(p.failure()) << c.what;
    EXPECT_EQ(p.failure()->cause, ProtocolFailure::Cause::malformed) << c.what;
    EXPECT_EQ(p.failure()->sqlstate, "08P01");
    EXPECT_NE(p.failure()->message.find(c.expect), std::string::npos)
        << c.what << ": " << p.failure()->message;
    EXPECT_FALSE(p.idle());
    p.receive(startup_done());  // nothing after a failure is looked at
    EXPECT_FALSE(p.idle());
  }
  // Rows that do not match their description.
  connect();
  protocol_.send({"SELECT 1", {}});
  protocol_.receive(row_description({"a"}) + data_row({std::string("1"), std::string("2")}));
  ASSERT_TRUE(protocol_.failure());
  EXPECT_NE(protocol_.failure()->message.find("DataRow has 2 columns, not 1"), std::string::npos);
}

TEST_F(PgProtocolTest, AResultOverTheLimitEndsTheConnection) {
  // Rows without end, each one small: the per-message cap alone would let memory grow.
  PgProtocol p(wire::kMaxMessage, 4096);
  p.start({"kong", "kong", "test", ""});
  p.receive(startup_done());
  ASSERT_TRUE(p.idle());
  p.send({"SELECT a FROM t", {}});
  p.receive(row_description({"a"}));
  std::string row = data_row({std::string(100, 'x')});
  for (int i = 0; i < 20; ++i) p.receive(row);
  EXPECT_FALSE(p.failure()) << "20 rows of 100 bytes fit in 4096";
  for (int i = 0; i < 40 && !p.failure(); ++i) p.receive(row);
  ASSERT_TRUE(p.failure());
  EXPECT_EQ(p.failure()->cause, ProtocolFailure::Cause::malformed);
  EXPECT_NE(p.failure()->message.find("a result larger than 4096 bytes"), std::string::npos)
      << p.failure()->message;
}

TEST_F(PgProtocolTest, StatementWithANulByteFailsWithoutSending) {
  connect();
  protocol_.send({"SELECT 1\0"s, {}});
  EXPECT_FALSE(protocol_.has_output());
  auto step = protocol_.take_step();
  ASSERT_TRUE(step && step->error);
  EXPECT_TRUE(protocol_.idle());
}

}  // namespace
}  // namespace kc::datastore

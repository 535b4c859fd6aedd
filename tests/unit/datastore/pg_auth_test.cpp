// Password digests against published values: RFC 7677's SCRAM-SHA-256 example exchange, and
// Postgres's MD5 scheme.
#include "datastore/pg_auth.h"

#include <gtest/gtest.h>

namespace kc::datastore::auth {
namespace {

// RFC 7677 section 3.
constexpr const char* kClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

TEST(PgAuth, ScramSha256Rfc7677Example) {
  ScramSha256 scram("pencil", "user", kClientNonce);
  EXPECT_EQ(scram.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(scram.client_final(kServerFirst), kClientFinal);
  EXPECT_NO_THROW(scram.verify_server_final(kServerFinal));
}

TEST(PgAuth, ScramRejectsAWrongServerSignature) {
  ScramSha256 scram("pencil", "user", kClientNonce);
  scram.client_final(kServerFirst);
  // A server that does not know the password cannot produce the signature.
  EXPECT_THROW(scram.verify_server_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
               AuthError);
  EXPECT_THROW(scram.verify_server_final("e=invalid-proof"), AuthError);
  EXPECT_THROW(scram.verify_server_final("x=1"), AuthError);
  ScramSha256 early("pencil", "user", kClientNonce);
  EXPECT_THROW(early.verify_server_final(kServerFinal), AuthError);
}

TEST(PgAuth, ScramRejectsHostileServerFirstMessages) {
  auto answer = [](const std::string& server_first) {
    ScramSha256 scram("pencil", "user", kClientNonce);
    return scram.client_final(server_first);
  };
  // The nonce must extend ours.
  EXPECT_THROW(answer("r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), AuthError);
  EXPECT_THROW(answer("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), AuthError);
  // An iteration count that would stall the loop, or none at all.
  EXPECT_THROW(answer("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000"),
               AuthError);
  EXPECT_THROW(answer("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0"), AuthError);
  EXPECT_THROW(answer("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=12x"), AuthError);
  EXPECT_THROW(answer("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ=="), AuthError);
  EXPECT_THROW(answer("r=rOprNGfwEbeRWgbNEkqOx,s=not base64!,i=4096"), AuthError);
  EXPECT_THROW(answer("garbage"), AuthError);
  EXPECT_THROW(answer(""), AuthError);
}

TEST(PgAuth, RandomNoncesDiffer) {
  ScramSha256 a("pw"), b("pw");
  EXPECT_NE(a.client_first(), b.client_first());
  EXPECT_EQ(a.client_first().substr(0, 7), "n,,n=,r");
}

TEST(PgAuth, Md5PasswordIsPostgresScheme) {
  // md5hex("secretkong") = f588ac4c7823ecd85ca51d4efe74810e (what pg_authid stores after
  // "md5"), then md5hex of that text followed by the four salt bytes.
  std::string salt("\x01\x02\xfe\xff", 4);
  EXPECT_EQ(md5_password("kong", "secret", salt), "md5ecc272d1e2c1db302a549d9d9d474693");
  EXPECT_NE(md5_password("kong", "secret", std::string("\x01\x02\xfe\xfe", 4)),
            md5_password("kong", "secret", salt));
}

TEST(PgAuth, Base64RoundTrips) {
  for (std::string s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s) << s;
  EXPECT_EQ(base64_encode("pencil"), "cGVuY2ls");
  EXPECT_THROW(base64_decode("abc"), AuthError);
  EXPECT_THROW(base64_decode("ab!d"), AuthError);
}

}  // namespace
}  // namespace kc::datastore::auth

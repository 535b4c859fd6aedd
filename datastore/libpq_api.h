// libpq, loaded only when a datastore is configured. The agent without pg_host must not map
// libpq and its dependencies (GnuTLS, Kerberos, LDAP, SASL: about 3 MiB of every agent's
// resident memory), so nothing links against it: the client calls libpq through this table,
// filled by dlopen("libpq.so.5") on the first PgClient. libpq-fe.h supplies only the types.
#pragma once

#include <libpq-fe.h>

#include <stdexcept>
#include <string>

namespace kc::datastore {

// libpq could not be loaded (not installed, or too old to have a function the client needs).
class LibPqMissing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LibPq {
  decltype(&PQconnectStartParams) connectStartParams;
  decltype(&PQconnectPoll) connectPoll;
  decltype(&PQstatus) status;
  decltype(&PQerrorMessage) errorMessage;
  decltype(&PQsetNoticeProcessor) setNoticeProcessor;
  decltype(&PQsocket) socket;
  decltype(&PQsetnonblocking) setnonblocking;
  decltype(&PQserverVersion) serverVersion;
  decltype(&PQfinish) finish;
  decltype(&PQsendQueryParams) sendQueryParams;
  decltype(&PQflush) flush;
  decltype(&PQconsumeInput) consumeInput;
  decltype(&PQisBusy) isBusy;
  decltype(&PQgetResult) getResult;
  decltype(&PQclear) clear;
  decltype(&PQresultStatus) resultStatus;
  decltype(&PQresStatus) resStatus;
  decltype(&PQresultErrorField) resultErrorField;
  decltype(&PQnfields) nfields;
  decltype(&PQntuples) ntuples;
  decltype(&PQfname) fname;
  decltype(&PQgetisnull) getisnull;
  decltype(&PQgetvalue) getvalue;
  decltype(&PQcmdTuples) cmdTuples;
  decltype(&PQtransactionStatus) transactionStatus;
  decltype(&PQsslStruct) sslStruct;
  // OpenSSL's SSL_pending, from the libssl that libpq itself loaded: the SSL object libpq
  // hands out belongs to that copy, not to the one linked into the agent. Null when libpq
  // was built without OpenSSL (then PQsslStruct never returns an OpenSSL object either).
  int (*sslPending)(const void* ssl);

  // Loads `soname` (and what it depends on) and resolves every function above.
  // Throws LibPqMissing naming the library and the missing piece.
  static LibPq load(const std::string& soname);
};

// The process-wide table: loaded on the first call, then shared. Thread-safe.
const LibPq& libpq();

}  // namespace kc::datastore

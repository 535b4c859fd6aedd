#include "datastore/libpq_api.h"

#include <dlfcn.h>

namespace kc::datastore {

namespace {

constexpr const char* kSoname = "libpq.so.5";

template <typename Fn>
void resolve(void* handle, const std::string& soname, const char* symbol, Fn& out) {
  dlerror();
  void* p = dlsym(handle, symbol);
  if (!p) throw LibPqMissing(soname + " has no " + symbol + " (libpq 10 or newer is needed)");
  out = reinterpret_cast<Fn>(p);
}

}  // namespace

LibPq LibPq::load(const std::string& soname) {
  // RTLD_LOCAL: libpq's dependencies (its own libssl/libcrypto among them) stay out of the
  // global namespace, so they never interpose on the copies linked into the agent.
  void* h = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = dlerror();
    throw LibPqMissing("pg_host is set, but the Postgres client library cannot be loaded: " +
                       std::string(why ? why : soname) +
                       " (install libpq5, or remove pg_host to run without a datastore)");
  }
  LibPq t{};
  resolve(h, soname, "PQconnectStartParams", t.connectStartParams);
  resolve(h, soname, "PQconnectPoll", t.connectPoll);
  resolve(h, soname, "PQstatus", t.status);
  resolve(h, soname, "PQerrorMessage", t.errorMessage);
  resolve(h, soname, "PQsetNoticeProcessor", t.setNoticeProcessor);
  resolve(h, soname, "PQsocket", t.socket);
  resolve(h, soname, "PQsetnonblocking", t.setnonblocking);
  resolve(h, soname, "PQserverVersion", t.serverVersion);
  resolve(h, soname, "PQfinish", t.finish);
  resolve(h, soname, "PQsendQueryParams", t.sendQueryParams);
  resolve(h, soname, "PQflush", t.flush);
  resolve(h, soname, "PQconsumeInput", t.consumeInput);
  resolve(h, soname, "PQisBusy", t.isBusy);
  resolve(h, soname, "PQgetResult", t.getResult);
  resolve(h, soname, "PQclear", t.clear);
  resolve(h, soname, "PQresultStatus", t.resultStatus);
  resolve(h, soname, "PQresStatus", t.resStatus);
  resolve(h, soname, "PQresultErrorField", t.resultErrorField);
  resolve(h, soname, "PQnfields", t.nfields);
  resolve(h, soname, "PQntuples", t.ntuples);
  resolve(h, soname, "PQfname", t.fname);
  resolve(h, soname, "PQgetisnull", t.getisnull);
  resolve(h, soname, "PQgetvalue", t.getvalue);
  resolve(h, soname, "PQcmdTuples", t.cmdTuples);
  resolve(h, soname, "PQtransactionStatus", t.transactionStatus);
  resolve(h, soname, "PQsslStruct", t.sslStruct);
  // dlsym on libpq's handle searches libpq's dependencies too, in load order.
  t.sslPending = reinterpret_cast<int (*)(const void*)>(dlsym(h, "SSL_pending"));
  return t;  // the handle stays open for the life of the process
}

const LibPq& libpq() {
  static const LibPq table = LibPq::load(kSoname);
  return table;
}

}  // namespace kc::datastore

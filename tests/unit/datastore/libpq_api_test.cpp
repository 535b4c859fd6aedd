// libpq is loaded on demand: not mapped before the first use, complete after it, and a
// missing library is a clear error rather than a crash at start-up.
#include "datastore/libpq_api.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace kc::datastore {
namespace {

bool mapped(const std::string& needle) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find(needle) != std::string::npos) return true;
  return false;
}

TEST(LibPqApi, LoadedOnlyOnFirstUseAndComplete) {
  // The test binary links the datastore library, so this holds only if nothing links libpq.
  ASSERT_FALSE(mapped("libpq.so")) << "libpq is mapped before any PgClient exists";
  const LibPq& pq = libpq();
  EXPECT_TRUE(mapped("libpq.so"));
  EXPECT_NE(pq.connectStartParams, nullptr);
  EXPECT_NE(pq.transactionStatus, nullptr);
  EXPECT_NE(pq.sslPending, nullptr) << "Debian's libpq is built with OpenSSL";
  EXPECT_EQ(&pq, &libpq()) << "one table per process";
  // A call through the table reaches libpq: a NULL connection is CONNECTION_BAD.
  EXPECT_EQ(pq.status(nullptr), CONNECTION_BAD);
}

TEST(LibPqApi, MissingLibraryIsAClearError) {
  try {
    LibPq::load("libkc-no-such-postgres-client.so.5");
    FAIL() << "loading a missing library succeeded";
  } catch (const LibPqMissing& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("libkc-no-such-postgres-client.so.5"), std::string::npos) << what;
    EXPECT_NE(what.find("install libpq5"), std::string::npos) << what;
  }
}

TEST(LibPqApi, LibraryWithoutTheFunctionsIsAClearError) {
  // libz is a real shared library with none of libpq's functions.
  try {
    LibPq::load("libz.so.1");
    FAIL() << "a library without PQconnectStartParams was accepted";
  } catch (const LibPqMissing& e) {
    EXPECT_NE(std::string(e.what()).find("PQconnectStartParams"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kc::datastore

// One GET against the API server, waited for: Boost.Beast over Asio (TLS by OpenSSL) on a
// private io_context. For a process that needs a single answer before its own event loop
// starts — the agent reading its Node — and should not carry cpprestsdk's libraries and
// thread pool for it (they cost every agent ~2.4 MiB of RSS and two threads). It honours the
// same Config as RestClient: server, CA (or the system store), insecure, bearer token or
// token file, client certificate.
#pragma once

#include <chrono>
#include <string>

#include "kube/config.h"
#include "kube/response.h"

namespace kc::kube {

// `path` includes any query. Never throws: failures come back as status 0 with `error`.
Response blocking_get(const Config& config, const std::string& path,
                      std::chrono::milliseconds timeout,
                      const std::string& user_agent = "kong-cluster-agent/0.1");

}  // namespace kc::kube

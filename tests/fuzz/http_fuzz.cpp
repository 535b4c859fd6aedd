// libFuzzer target for the HTTP surface: arbitrary bytes sent to a live Beast server (the one
// every binary uses, with its header/body limits) over a loopback connection, routed to the
// agent's real Kong /cluster handlers, /v1/members and health routes over a stub agent.
// Requests, pipelining, bodies in JSON/form/multipart, bad escapes and truncation all reach
// the parsers. Nothing may crash or hang, and whatever the server writes back must start as
// an HTTP/1.1 response.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "agent/http/cluster_routes.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/logging.h"
#include "fuzz/stub_agent.h"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct World {
  asio::io_context io;
  kc::fuzz::StubAgent agent{io};
  kc::http::Router router;
  std::unique_ptr<kc::http::Server> server;
  tcp::endpoint endpoint;

  World() {
    kc::log::set_level("err");
    kc::agent_http::ClusterRoutesOptions options;
    options.incarnation = [](const std::string&) { return std::optional<uint32_t>(3); };
    options.access.token = "fuzz";
    kc::agent_http::add_cluster_routes(router, agent, options);
    kc::http::ServerOptions so;
    so.read_timeout = std::chrono::milliseconds(500);  // a half request must not stall a run
    so.request_header_timeout = std::chrono::milliseconds(500);
    so.handler_timeout = std::chrono::milliseconds(500);
    server = std::make_unique<kc::http::Server>(
        io, so, [this](kc::http::Request& req, kc::http::Reply reply) {
          // Most inputs carry the token, so the routes behind it are fuzzed too; those with
          // "notoken" in the target exercise the refusal.
          if (req.target.find("notoken") == std::string::npos)
            req.headers["authorization"] = "Bearer fuzz";
          router.dispatch(req, reply);
        });
    server->start();
    endpoint = server->local_endpoint();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  tcp::socket client(w.io);
  // Blocking calls complete against the listen backlog and socket buffers, before any
  // accept. libFuzzer's SIGALRM (-timeout) can interrupt them: that is the harness's
  // business, not a finding, so retry.
  boost::system::error_code ec;
  do {
    if (client.is_open()) client.close();
    client.connect(w.endpoint, ec);
  } while (ec == asio::error::interrupted);
  if (ec) std::abort();  // our own listener refused a connection
  size_t sent = 0;
  while (sent < size) {
    sent += client.write_some(asio::buffer(data + sent, size - sent), ec);
    if (ec && ec != asio::error::interrupted) break;  // the server may close early: fine
  }
  client.shutdown(tcp::socket::shutdown_send, ec);

  std::string reply;
  bool done = false;
  auto buffer = asio::dynamic_buffer(reply, 1 << 20);
  asio::async_read(client, buffer, [&](boost::system::error_code, size_t) { done = true; });
  w.io.restart();
  // The server closes after answering (or refusing) the last request; read_timeout bounds
  // a request that never completes.
  while (!done && w.io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
  if (!done) std::abort();  // the server neither answered nor closed: a hang
  if (!reply.empty() && reply.rfind("HTTP/1.1 ", 0) != 0) std::abort();
  return 0;
}

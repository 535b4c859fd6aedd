#include "operator/controller/agent_rpc.h"

#include <boost/asio/post.hpp>

#include "common/address.h"
#include "serf_client/client.h"

namespace kc::controller {

AgentRpc::AgentRpc(boost::asio::io_context& io, AgentRpcOptions options)
    : io_(io), options_(std::move(options)), pool_(options_.threads) {}

AgentRpc::~AgentRpc() {
  pool_.join();
}

namespace {
serf_client::ClientOptions client_options(const AgentRpcOptions& o, const std::string& addr) {
  serf_client::ClientOptions c;
  c.addr = addr;
  c.auth_key = o.auth_key;
  c.connect_timeout = o.connect_timeout;
  c.reply_timeout = o.reply_timeout;
  return c;
}
}  // namespace

void AgentRpc::members(const std::string& addr, MembersDone done) {
  auto back = lifetime_.wrap(std::move(done));
  boost::asio::post(pool_, [this, addr, back]() mutable {
    std::optional<std::vector<Member>> out;
    std::string error;
    try {
      serf_client::Client client(client_options(options_, addr));
      out.emplace();
      for (auto& mi : client.members()) {
        Member m;
        m.name = mi.name;
        m.address = format_addr(mi.addr, mi.port);
        m.status = mi.status;
        m.tags = mi.tags;
        m.protocol = mi.protocol_cur;
        out->push_back(std::move(m));
      }
    } catch (const std::exception& e) {
      out.reset();
      error = e.what();
    }
    boost::asio::post(
        io_, [back, out = std::move(out), error]() mutable { back(std::move(out), error); });
  });
}

void AgentRpc::force_leave_prune(const std::string& addr, const std::string& node,
                                 bool confirmed_gone, Done done) {
  auto back = lifetime_.wrap(std::move(done));
  boost::asio::post(pool_, [this, addr, node, confirmed_gone, back]() mutable {
    bool ok = false;
    std::string error;
    try {
      serf_client::Client client(client_options(options_, addr));
      client.force_leave(node, true, confirmed_gone);
      ok = true;
    } catch (const std::exception& e) {
      error = e.what();
    }
    boost::asio::post(io_, [back, ok, error]() mutable { back(ok, error); });
  });
}

}  // namespace kc::controller

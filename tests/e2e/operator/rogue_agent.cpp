// The attacker's side of the rogue-pod tests: a process that serves Serf's RPC (the project's
// RPC server over a scripted agent) and reports forged members, the way a pod carrying the
// agents' labels would to harvest the RPC token and get live members pruned. It writes what
// it saw (connections accepted, commands received) to a status file every 100 ms.
//
//   e2e_operator_rogue_agent --rpc 127.0.0.1:PORT --status FILE [--auth TOKEN]
//       --member 'NAME|IP:PORT|key=value,key=value' ...
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "agent/rpc/server.h"
#include "common/address.h"
#include "unit/rpc/fake_agent.h"

namespace {

kc::rpc::MemberInfo parse_member(const std::string& spec) {
  std::istringstream in(spec);
  std::string name, addr, tags;
  std::getline(in, name, '|');
  std::getline(in, addr, '|');
  std::getline(in, tags);
  auto [host, port] = kc::split_host_port(addr);
  kc::rpc::Bytes ip;
  std::istringstream octets(host);
  for (std::string o; std::getline(octets, o, '.');)
    ip.push_back(static_cast<uint8_t>(std::stoi(o)));
  kc::rpc::Tags t;
  std::istringstream pairs(tags);
  for (std::string kv; std::getline(pairs, kv, ',');) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) t[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return kc::test::make_member(name, ip, port, t);
}

}  // namespace

int main(int argc, char** argv) {
  std::string rpc_addr, status_file, auth;
  std::vector<std::string> members;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--rpc")
      rpc_addr = v;
    else if (k == "--status")
      status_file = v;
    else if (k == "--auth")
      auth = v;
    else if (k == "--member")
      members.push_back(v);
  }
  if (rpc_addr.empty() || status_file.empty()) {
    std::cerr << "usage: --rpc ADDR --status FILE [--auth TOKEN] --member 'N|IP:PORT|k=v'...\n";
    return 2;
  }
  boost::asio::io_context io;
  kc::test::FakeAgent agent(io);
  agent.member_list.clear();
  for (auto& m : members) agent.member_list.push_back(parse_member(m));
  kc::rpc::ServerOptions o;
  o.bind = rpc_addr;
  o.auth_key = auth;
  kc::rpc::Server server(io, agent, nullptr, o);
  server.start();
  boost::asio::steady_timer timer(io);
  std::function<void()> report = [&] {
    std::string tmp = status_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << "accepted " << server.accepted() << "\n";
      for (auto& c : agent.calls()) out << "call " << c << "\n";
    }
    std::rename(tmp.c_str(), status_file.c_str());
    timer.expires_after(std::chrono::milliseconds(100));
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) report();
    });
  };
  report();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    server.stop();
    io.stop();
  });
  io.run();
  return 0;
}

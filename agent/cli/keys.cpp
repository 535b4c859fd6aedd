// keygen and keys. `keys` accepts Kong 0.10's form (`keys install KEY`, `keys list`) and
// serf's (`keys --install KEY`, `keys --list`), and prints serf's output, which Kong showed
// verbatim.
#include <spdlog/fmt/fmt.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "agent/cli/commands.h"
#include "agent/cli/connect.h"
#include "agent/cli/format.h"

namespace kc::cli {

int run_keygen(Io io) {
  std::array<uint8_t, 32> key{};
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      io.err << "Error reading random data: " << std::strerror(errno) << "\n";
      return 1;
    }
    got += static_cast<size_t>(n);
  }
  io.out << base64_encode(key) << "\n";
  return 0;
}

namespace {

struct Action {
  serf_client::KeyOp op;
  std::string key;
};

// Resolves the Kong and serf forms into one operation, or prints why not.
std::optional<Action> resolve(const KeysOptions& o, Io io) {
  std::vector<Action> chosen;
  if (o.list) chosen.push_back({serf_client::KeyOp::List, ""});
  if (!o.install.empty()) chosen.push_back({serf_client::KeyOp::Install, o.install});
  if (!o.use.empty()) chosen.push_back({serf_client::KeyOp::Use, o.use});
  if (!o.remove.empty()) chosen.push_back({serf_client::KeyOp::Remove, o.remove});
  if (!o.action.empty()) {
    if (o.action == "list") {
      chosen.push_back({serf_client::KeyOp::List, ""});
    } else if (o.action == "install" || o.action == "use" || o.action == "remove") {
      if (o.key.empty()) {
        io.err << "missing key\n";
        return std::nullopt;
      }
      auto op = o.action == "install" ? serf_client::KeyOp::Install
                : o.action == "use"   ? serf_client::KeyOp::Use
                                      : serf_client::KeyOp::Remove;
      chosen.push_back({op, o.key});
    } else {
      io.err << "invalid command\n";
      return std::nullopt;
    }
  }
  if (chosen.size() > 1) {
    io.err << "Only one of install, use, remove, or list allowed\n";
    return std::nullopt;
  }
  if (chosen.empty()) {
    io.err << "Usage: kong-cluster keys install|use|remove KEY, or kong-cluster keys list\n";
    return std::nullopt;
  }
  return chosen.front();
}

void print_failures(const serf_client::KeyResult& r, Io io) {
  std::vector<std::string> lines;
  for (const auto& [node, message] : r.messages)
    lines.push_back(fmt::format("failed: | {} | {}", node, message));
  if (!lines.empty()) io.err << columnize(lines) << "\n";
}

}  // namespace

int run_keys(const KeysOptions& o, Io io) {
  auto action = resolve(o, io);
  if (!action) return 1;
  auto client = connect(o.rpc, io);
  if (!client) return 1;

  static const struct {
    const char* start;
    const char* done;
    const char* failed;
  } kText[] = {
      {"Installing key on all members...", "Successfully installed key!", "Error installing key"},
      {"Changing primary key on all members...", "Successfully changed primary key!",
       "Error changing primary key"},
      {"Removing key on all members...", "Successfully removed key!", "Error removing key"},
      {"Asking all members for installed keys...", "Keys gathered, listing cluster keys...",
       "Failed to gather member keys"},
  };
  const auto& text = kText[static_cast<int>(action->op)];
  io.out << "==> " << text.start << "\n";
  serf_client::KeyResult r;
  try {
    r = client->key_op(action->op, action->key);
  } catch (const std::exception& e) {
    io.err << "\n" << text.failed << ": " << e.what() << "\n";
    return 1;
  }
  if (!r.error.empty()) {
    print_failures(r, io);
    io.err << "\n" << text.failed << ": " << r.error << "\n";
    return 1;
  }
  io.out << "==> " << text.done << "\n";
  if (action->op == serf_client::KeyOp::List) {
    std::vector<std::string> lines;
    for (const auto& [key, count] : r.keys)
      lines.push_back(key + " | [" + std::to_string(count) + "/" + std::to_string(r.num_nodes) +
                      "]");
    io.out << "\n" << columnize(lines) << "\n";
  }
  return 0;
}

}  // namespace kc::cli

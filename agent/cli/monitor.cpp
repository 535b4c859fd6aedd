// monitor: serf's `monitor` — every event ("*" stream) and the agent's log lines at or above
// the chosen level (the agent first replays its recent lines), until interrupted.
#include <map>

#include "agent/cli/commands.h"
#include "agent/cli/connect.h"
#include "agent/cli/format.h"

namespace kc::cli {

int run_monitor(const MonitorOptions& o, Io io) {
  auto client = connect(o.rpc, io);
  if (!client) return 1;
  client->interrupt_on_signals();
  uint64_t events = 0;
  uint64_t logs = 0;
  try {
    events = client->stream("*");
  } catch (const std::exception& e) {
    io.err << "Error starting stream: " << e.what() << "\n";
    return 1;
  }
  try {
    logs = client->monitor(o.log_level);
  } catch (const std::exception& e) {
    io.err << "Error starting monitor: " << e.what() << "\n";
    return 1;
  }
  try {
    while (true) {
      serf_client::StreamRecord rec;
      auto wait = client->next_record(rec, std::nullopt);
      if (wait == serf_client::Client::Wait::Interrupted) return 0;
      if (wait != serf_client::Client::Wait::Record) continue;
      auto root = rec.body.root();
      if (rec.seq == logs) {
        io.out << root.get("Log").string() << std::endl;
      } else if (rec.seq == events) {
        io.out << "Event Info:\n";
        std::map<std::string, std::string> fields;
        for (auto& [k, v] : root.entries()) fields[k] = go_value(v);
        for (const auto& [k, v] : fields) io.out << "\t" << k << ": " << v << "\n";
        io.out << std::flush;
      }
    }
  } catch (const std::exception&) {
    io.out << "\nRemote side ended the monitor! This usually means that the\n"
              "remote side has exited or crashed.\n";
    return 1;
  }
}

}  // namespace kc::cli

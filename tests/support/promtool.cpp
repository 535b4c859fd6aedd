#include "support/promtool.h"

#include <fstream>

namespace kc::test {

bool have_promtool() {
  return have_program("promtool");
}

CommandResult promtool_check_metrics(const std::string& exposition) {
  TempDir dir;
  auto path = dir.path() + "/metrics.txt";
  std::ofstream(path) << exposition;
  return run_command({"sh", "-c", "promtool check metrics < '" + path + "'"});
}

}  // namespace kc::test

// Prometheus' own parser and linter on an exposition (`promtool check metrics`, from Debian's
// prometheus package): exit code 0 and no output when the text parses and lints clean.
#pragma once

#include <string>

#include "support/process.h"

namespace kc::test {

// Whether promtool is installed (the tests that need it skip, visibly, without it).
bool have_promtool();
// promtool's verdict on `exposition`: exit 0 clean, 3 lint problems, 1 a parse error; the
// output names each problem.
CommandResult promtool_check_metrics(const std::string& exposition);

}  // namespace kc::test

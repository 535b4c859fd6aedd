// The `serf` entry point's commands: Serf 0.9.4's CLI grammar (Go flags) and output, on top
// of kong-cluster's client commands (agent/cli) and agent, so Kong 0.9/0.10 and scripts
// written for serf run kong-cluster unchanged as their `serf`.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "agent/serf_cli/go_flags.h"

namespace kc::serf_cli {

// serf writes its normal output and its error messages to stdout (its Ui has no separate
// error writer) and only the flag package's complaints go to stderr.
struct SerfIo {
  std::ostream& out;
  std::ostream& flag_err;
};

using Args = std::vector<std::string>;

int members(const Args& args, SerfIo io);
int join(const Args& args, SerfIo io);
int leave(const Args& args, SerfIo io);
int force_leave(const Args& args, SerfIo io);
int event(const Args& args, SerfIo io);
int reachability(const Args& args, SerfIo io);
int keygen(const Args& args, SerfIo io);
int keys(const Args& args, SerfIo io);
int query(const Args& args, SerfIo io);
int monitor(const Args& args, SerfIo io);
int info(const Args& args, SerfIo io);
int tags(const Args& args, SerfIo io);
int agent(const Args& args, SerfIo io);
int version(const Args& args, SerfIo io);

// Parses `args` with `flags`; on a flag error prints Go's message (to flag_err) and the
// command's usage (to out), as serf does, and returns false.
bool parse_or_usage(FlagSet& flags, const Args& args, const std::string& usage, SerfIo io);

// The first line of `serf version`. Kong 0.9 accepts "Serf v" 0.7.0-0.8.0 and Kong 0.10
// 0.7.0-0.8.1, so 0.8.0 is the newest both take; the lines after it say what this really is.
inline constexpr const char* kKongAcceptedVersion = "Serf v0.8.0";

}  // namespace kc::serf_cli

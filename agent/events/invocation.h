// What an event handler gets, exactly as serf's agent gives it (invoke.go), so scripts written
// for serf (Kong 0.x's serf_event.sh among them) run unchanged: SERF_EVENT, SERF_SELF_NAME,
// SERF_SELF_ROLE, SERF_TAG_<TAG> for each of our tags, SERF_USER_EVENT/SERF_USER_LTIME or
// SERF_QUERY_NAME/SERF_QUERY_LTIME, on top of a scrubbed copy of the agent's environment
// (handler_environment: serf passes all of it, which would hand every script the RPC token,
// the gossip key and the Postgres password); and on stdin one
// "NAME\tIP\tROLE\tTAGS\n" line per member, or the payload with a newline added if missing.
#pragma once

#include <string>
#include <vector>

#include "agent/serf/event.h"

namespace kc::events {

struct Invocation {
  std::vector<std::string> env;  // "NAME=value": the base environment plus serf's
  std::string input;             // stdin
};

// `base_env` is the environment to start from (handler_environment's result).
Invocation make_invocation(const serf::Event& e, const serf::Member& self,
                           const std::vector<std::string>& base_env);
// The process's environment as "NAME=value" entries.
std::vector<std::string> process_environment();

// The variables of `env` a handler may see: the basics a shell script needs (PATH, HOME,
// USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR, TERM, HOSTNAME, PWD) plus those
// `allow` names ("NAME", or "PREFIX*" for every name starting with PREFIX). Everything else
// (KONG_CLUSTER_RPC_AUTH, KONG_CLUSTER_ENCRYPT_KEY, KONG_PG_PASSWORD, ...) is left out.
std::vector<std::string> handler_environment(const std::vector<std::string>& env,
                                             const std::vector<std::string>& allow);
// Whether `name` matches one of `patterns` ("NAME" or "PREFIX*").
bool env_name_allowed(const std::string& name, const std::vector<std::string>& patterns);

// Serf's stdin for a member event: one line per member, tags as k=v joined by commas
// (sorted here; Go's map order is random), tabs and newlines in names escaped.
std::string member_event_input(const serf::MemberEvent& e);
// SERF_TAG_ name for a tag: upper-cased, anything outside [A-Z0-9_] becomes '_'.
std::string tag_env_name(const std::string& tag);

}  // namespace kc::events

// build/bin/serf (kong-cluster under serf's name) and Debian's serf, run with the same
// arguments against one of our RPC servers (fake agent behind it): exit code, stdout and
// stderr must be identical, names with tabs, newlines, HTML characters and invalid UTF-8
// included.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "support/process.h"
#include "unit/rpc/harness.h"

namespace kc::test {
namespace {

struct Run {
  int code;
  std::string out, err;
  bool operator==(const Run&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Run& r) {
  return os << "code " << r.code << "\nstdout: " << ::testing::PrintToString(r.out)
            << "\nstderr: " << ::testing::PrintToString(r.err);
}

// Runs argv with stdout and stderr kept apart.
Run run_split(const std::vector<std::string>& argv) {
  TempDir dir;
  std::string cmd;
  for (const auto& a : argv) {
    std::string quoted = "'";
    for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += quoted + "' ";
  }
  cmd += ">" + dir.path() + "/out 2>" + dir.path() + "/err";
  auto r = run_command({"/bin/sh", "-c", cmd}, 30000);
  return {r.exit_code, read_text(dir.path() + "/out"), read_text(dir.path() + "/err")};
}

class SerfEntry : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("serf")) GTEST_SKIP() << "serf is not installed";
    ours_ = std::string(std::getenv("KC_BINARY_DIR")) + "/bin/serf";
    ASSERT_TRUE(std::ifstream(ours_).good()) << ours_;
    h.agent.member_list = {
        make_member("kong-1_0.0.0.0:7946_0123456789abcdef0123456789abcdef", {10, 0, 0, 1}, 7946,
                    {{"role", "kong"}}),
        make_member("tab\there\nnewline", {10, 0, 0, 2}, 7946, {{"dc", "<eu>&"}}),
        make_member("caf\xc3\xa9 \xff bad", {10, 0, 0, 3}, 7946, {}, "failed"),
        make_member("v6", {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 7946, {}, "left"),
    };
  }
  // The same command with each binary; `args` start with the command name.
  void expect_same(std::vector<std::string> args, bool rpc = true) {
    if (rpc) args.insert(args.begin() + 1, "-rpc-addr=" + h.addr());
    std::vector<std::string> mine = {ours_}, theirs = {"serf"};
    mine.insert(mine.end(), args.begin(), args.end());
    theirs.insert(theirs.end(), args.begin(), args.end());
    EXPECT_EQ(run_split(mine), run_split(theirs)) << ::testing::PrintToString(args);
  }
  ServerHarness h;
  std::string ours_;
};

TEST_F(SerfEntry, MembersText) {
  expect_same({"members"});
  expect_same({"members", "-detailed"});
  expect_same({"members", "-status", "failed"});
}

TEST_F(SerfEntry, MembersJsonAsKongAsksForIt) {
  expect_same({"members", "-format", "json"});
  expect_same({"members", "--format=json", "-name=nobody"});
  expect_same({"members", "-format", "yaml"});
}

TEST_F(SerfEntry, EventsAndJoin) {
  expect_same({"event", "-coalesce=false", "kong", "{\"collection\":\"apis\"}"});
  expect_same({"event", "ping"});
  expect_same({"join", "10.0.0.9:7946", "10.0.0.8:7946"});
  expect_same({"force-leave", "gone"});
  expect_same({"force-leave", "-prune", "gone"});
}

TEST_F(SerfEntry, FlagErrorsGoToStderr) {
  // Serf prints its own help after these; compare only the parts that are Serf's: the exit
  // code, the flag error on stderr and the first line on stdout.
  for (std::vector<std::string> args : {std::vector<std::string>{"members", "-bogus"},
                                        {"event", "-coalesce=maybe", "x"},
                                        {"members", "-format"},
                                        {"join", "---x"},
                                        {"event", "a", "b", "c"},
                                        {"join"}}) {
    std::vector<std::string> mine = {ours_}, theirs = {"serf"};
    mine.insert(mine.end(), args.begin(), args.end());
    theirs.insert(theirs.end(), args.begin(), args.end());
    auto a = run_split(mine), b = run_split(theirs);
    EXPECT_EQ(a.code, b.code) << args[1];
    EXPECT_EQ(a.err, b.err) << args[1];
    EXPECT_EQ(a.out.substr(0, a.out.find('\n')), b.out.substr(0, b.out.find('\n'))) << args[1];
  }
}

TEST_F(SerfEntry, NoAgentListening) {
  std::string dead = "127.0.0.1:" + std::to_string(free_port());
  for (std::vector<std::string> args : {std::vector<std::string>{"members", "-format", "json"},
                                        {"leave"},
                                        {"event", "kong", "x"},
                                        {"keys", "-list"},
                                        {"force-leave", "n"},
                                        {"join", "1.2.3.4:5"}}) {
    args.insert(args.begin() + 1, "-rpc-addr=" + dead);
    std::vector<std::string> mine = {ours_}, theirs = {"serf"};
    mine.insert(mine.end(), args.begin(), args.end());
    theirs.insert(theirs.end(), args.begin(), args.end());
    EXPECT_EQ(run_split(mine), run_split(theirs)) << args[0];
  }
}

TEST_F(SerfEntry, UnknownCommandAndNoCommand) {
  EXPECT_EQ(run_split({ours_}).code, run_split({"serf"}).code);
  EXPECT_EQ(run_split({ours_, "bogus"}).code, run_split({"serf", "bogus"}).code);
}

}  // namespace
}  // namespace kc::test

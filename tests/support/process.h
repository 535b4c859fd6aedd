// Child processes for integration tests: started with fork/exec, output to a log file,
// stopped by their own PID (never by name).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace kc::test {

class Process {
 public:
  // Starts argv[0] (searched in PATH) with the given arguments; stdout+stderr go to `log_path`.
  Process(std::vector<std::string> argv, std::string log_path,
          std::map<std::string, std::string> extra_env = {});
  ~Process();  // SIGKILL + reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits up to timeout_ms for exit; returns the exit status (or -1 if it did not exit).
  int wait_exit(int timeout_ms);
  void kill9();
  std::string log() const;  // what it printed so far
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

// A TCP+UDP port that is free on 127.0.0.1 at the time of the call (bound then released).
int free_port();

// Runs a command to completion, returning its exit code and capturing stdout+stderr.
struct CommandResult {
  int exit_code;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = 30000);

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A file's contents ("" when it does not exist yet), and writing a script (mode 0755).
std::string read_text(const std::string& path);
void write_script(const std::string& path, const std::string& text);

// Whether an executable exists in PATH.
bool have_program(const std::string& name);

// The state letter of a process from /proc/PID/stat ('R', 'S', 'Z' for a zombie...), or 0
// once it is gone (reaped).
char process_state(pid_t pid);

}  // namespace kc::test

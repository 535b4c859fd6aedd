// libFuzzer target for the kong.conf parser and the agent's key checks: any file content gives
// a ConfigError or a config, never a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "agent/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char path[] = "/tmp/kc-config-fuzz-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 0;
  if (write(fd, data, size) != ssize_t(size)) {
    close(fd);
    unlink(path);
    return 0;
  }
  close(fd);
  try {
    kc::config::Settings s(kc::agent::agent_keys(), kc::agent::kong_foreign_keys(),
                           kc::agent::kong_foreign_prefixes());
    s.load_file(path);
    (void)kc::agent::agent_config_from(s);
  } catch (const kc::config::ConfigError&) {
  }
  unlink(path);
  return 0;
}

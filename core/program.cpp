#include "program.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu_capability.h"
#include "error.h"
#include "threads.h"

namespace minidl {

void start_program(char** argv) {
  try {
    cpu_capability();
    cpu_conv_algorithm();
    adaptive_threads();
  } catch (const Error& e) {
    const std::string path = argv[0] ? argv[0] : "minidl";
    std::fprintf(stderr, "%s: %s\n", path.substr(path.rfind('/') + 1).c_str(), e.what());
    std::exit(2);
  }
  if (adaptive_threads() || std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload && std::strstr(preload, "vgpreload")) return;  // valgrind: the new process would run without it
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");  // exec failed: go on as we are
}

}  // namespace minidl

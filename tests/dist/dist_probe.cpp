// A small MPI job for the launch tests (tests/test_dist_launch.cpp): every rank all-reduces a
// counter `--steps` times; `--kill-rank R` makes rank R die by SIGKILL at step 3 (a crashed or
// killed worker), `--fail-rank R` makes it raise a minidl::Error there (a worker's bad input).
// Either way the others are waiting in a collective: the job must end, not hang.
#include <csignal>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "../../core/factory.h"
#include "../../dist/process_group.h"

using namespace minidl;

int main(int argc, char** argv) {
  CLI::App app{"dist_probe: all-reduce a counter on every rank; kill or fail one rank on purpose"};
  int steps = 10, kill_rank = -1, fail_rank = -1;
  app.add_option("--steps", steps, "all-reduces to run");
  app.add_option("--kill-rank", kill_rank, "this rank dies by SIGKILL at step 3");
  app.add_option("--fail-rank", fail_rank, "this rank raises an error at step 3");
  CLI11_PARSE(app, argc, argv);
  std::unique_ptr<dist::ProcessGroup> group;
  try {
    group = dist::init_process_group();
    for (int step = 0; step < steps; ++step) {
      if (step == 3 && group->rank() == kill_rank) std::raise(SIGKILL);
      MINIDL_CHECK(!(step == 3 && group->rank() == fail_rank), "dist_probe: failing on purpose at step ", step);
      Tensor t = full({4}, group->rank() + 1.0);
      group->all_reduce(t).wait();
      const double expected = group->size() * (group->size() + 1) / 2.0;
      MINIDL_CHECK(t.to_vector<double>()[0] == expected, "dist_probe: expected ", expected, ", found ",
                   t.to_vector<double>()[0]);
    }
    if (group->is_main()) std::cout << "dist_probe: " << steps << " all-reduces on " << group->size() << " ranks ("
                                    << group->backend_name() << ")" << std::endl;
  } catch (const std::exception& e) {
    const std::string where = group ? "rank " + std::to_string(group->rank()) + " of " + std::to_string(group->size()) + ": " : "";
    const std::string what = e.what();
    const std::string message = what.rfind("dist_probe: ", 0) == 0 ? what.substr(12) : what;
    if (group) group->abort("dist_probe: " + where + message);
    std::cerr << "dist_probe: " << message << std::endl;
    return 1;
  }
  return 0;
}

// Data-parallel jobs started as a user starts them, `mpirun -np 2 ...`: train on Fashion-MNIST
// gives the weights of one process with twice the batch; a rank that is killed or fails ends
// the job (with its rank named), never leaves it hanging. Built with MPI only.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "helpers.h"

using namespace minidl;

#if MINIDL_HAVE_MPI
namespace {

std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `mpirun -np 2 <program args>` (or an MPMD line), at most 120 s; returns the exit code.
int mpirun(const std::string& args, const std::string& log, double* seconds = nullptr) {
  const std::string command = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 timeout 120 " +
                              std::string(MINIDL_MPIEXEC) + " --oversubscribe " + args + " > " + log + " 2>&1";
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  if (seconds) *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string bin(const std::string& name) { return std::string(MINIDL_BIN_DIR) + "/" + name; }

double max_weight_difference(const std::string& a, const std::string& b) {
  const SafetensorsFile x = load_safetensors(a), y = load_safetensors(b);
  REQUIRE(x.tensors.size() == y.tensors.size());
  double worst = 0;
  for (size_t i = 0; i < x.tensors.size(); ++i) {
    if (x.tensors[i].first.find("running") != std::string::npos) continue;
    const std::vector<double> u = x.tensors[i].second.to_vector<double>(), v = y.tensors[i].second.to_vector<double>();
    for (size_t k = 0; k < u.size(); ++k) worst = std::max(worst, std::abs(u[k] - v[k]));
  }
  return worst;
}

}  // namespace

TEST_CASE("mpirun -np 2 train: 2 ranks x 16 images = 1 process x 32, rank 0 alone logs and saves") {
  REQUIRE_FASHION_MNIST();
  test::TempDir dir("dist_train");
  // One step, the direct convolution in both runs: what differs between them is then the order of
  // the weight gradients' sums over the batch and of the all-reduce (~1e-7 here). A second step
  // starts from weights that differ by that much, and a ReLU input within rounding of 0 may then
  // switch in one run only: 1.9e-5 apart after two steps on the AVX-512 path (seed 3; 2.0e-5 with
  // seed 4 after three, 1.2e-7 with seed 5), where AVX2's rounding happened to leave them 1.2e-7
  // apart. Winograd's float32 rounding — its sums in the transform domain go over other chunks at
  // batch 16 than at 32 — makes such switches likelier. The float64 tests in tests/dist/ check
  // three steps exactly.
  struct DirectConvolutions {  // for the programs this test starts, until it ends (a REQUIRE too)
    DirectConvolutions() { setenv("MINIDL_CPU_CONV", "direct", 1); }
    ~DirectConvolutions() { unsetenv("MINIDL_CPU_CONV"); }
  } direct;
  const std::string common = " --arch resnet20 --norm gn --limit-train 256 --limit-test 64 --epochs 1 --max-steps 1"
                             " --lr 0.05 --seed 3";
  const std::string out = dir.file("out.txt");
  REQUIRE_MESSAGE(mpirun("-np 2 " + bin("train") + common + " --batch 16 --save " + dir.file("dp.safetensors") +
                             " --log " + dir.file("dp.csv"),
                         out) == 0,
                  slurp_file(out));
  const std::string text = slurp_file(out);
  CHECK(text.find("data-parallel: 2 ranks (mpi), 1 threads each, 16 images per rank per step") != std::string::npos);
  CHECK(text.find("batch 32") != std::string::npos);
  CHECK(text.find("all-reduce: ") != std::string::npos);
  CHECK(slurp_file(dir.file("dp.csv")).find("\n1,") != std::string::npos);  // one row, from rank 0
  REQUIRE(std::system((bin("train") + " --threads 1" + common + " --batch 32 --save " + dir.file("one.safetensors") +
                       " > " + dir.file("one.txt") + " 2>&1").c_str()) == 0);
  const double diff = max_weight_difference(dir.file("dp.safetensors"), dir.file("one.safetensors"));
  MESSAGE("train, 1 step: max |w(2 ranks x 16) - w(1 x 32)| = " << diff);
  CHECK(diff <= 1e-6);
}

TEST_CASE("mpirun: a rank that fails names itself and ends the job; a killed rank ends it too") {
  test::TempDir dir("dist_fail");
  const std::string out = dir.file("out.txt");
  double seconds = 0;
  CHECK(mpirun("-np 2 " + bin("dist_probe") + " --steps 100000 --fail-rank 1", out, &seconds) != 0);
  CHECK(slurp_file(out).find("dist_probe: rank 1 of 2: failing on purpose at step 3") != std::string::npos);
  CHECK(seconds < 60);
  const int killed = mpirun("-np 2 " + bin("dist_probe") + " --steps 100000 --kill-rank 1", out, &seconds);
  CHECK(killed != 0);
  CHECK(killed != 124);  // not ended by the timeout: the job itself stopped
  CHECK(seconds < 60);

  // train itself: rank 1 alone is given --groups 5, which its model's 16 channels refuse.
  REQUIRE_FASHION_MNIST();
  const std::string common = " --arch resnet20 --norm gn --limit-train 64 --limit-test 32 --epochs 1 --batch 8";
  const int code = mpirun("-np 1 " + bin("train") + common + " : -np 1 " + bin("train") + common + " --groups 5", out,
                          &seconds);
  const std::string text = slurp_file(out);
  CHECK(code != 0);
  CHECK(code != 124);
  CHECK_MESSAGE(text.find("train: rank 1 of 2: --groups 5") != std::string::npos, text);
  CHECK(seconds < 60);
}
#endif

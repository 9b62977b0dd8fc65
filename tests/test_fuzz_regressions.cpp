// Every committed fuzz input — the seeds (fuzz/corpus/) and each input that once crashed, hung
// or exhausted memory (fuzz/regressions/) — through the same entry points as the libFuzzer
// targets (fuzz/targets.h), so that `make test` replays them without clang. Under make test-asan
// the sanitizers watch them too.
#include <chrono>
#include <functional>
#include <map>

#include "../fuzz/targets.h"
#include "helpers.h"

namespace fs = std::filesystem;

TEST_CASE("the fuzz seeds and every past finding load or fail with a minidl::Error, quickly") {
  const std::map<std::string, std::function<void(const uint8_t*, size_t)>> targets = {
      {"npy", minidl::fuzz::npy},   {"safetensors", minidl::fuzz::safetensors}, {"idx", minidl::fuzz::idx},
      {"idx_gz", minidl::fuzz::idx_gz}, {"cifar", minidl::fuzz::cifar},       {"image", minidl::fuzz::image}};
  int inputs = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    for (const auto& [name, run] : targets) {
      const fs::path dir = fs::path(MINIDL_SOURCE_DIR) / "fuzz" / kind / name;
      if (!fs::is_directory(dir)) continue;
      for (const auto& entry : fs::directory_iterator(dir)) {
        INFO(entry.path().string());
        const std::string bytes = test::read_bytes(entry.path().string());
        const auto start = std::chrono::steady_clock::now();
        run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());  // throws nothing but Error, which it catches
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        CHECK(seconds < 5);
        ++inputs;
      }
    }
  }
  CHECK(inputs >= 14);
  fs::remove_all(minidl::fuzz::scratch());
}

// The layering rule of DESIGN.md, checked: core/ includes nothing from the layers above it, and
// nothing below dist/ includes dist/ (models and layers know nothing of data-parallel training).
#include <filesystem>
#include <fstream>
#include <string>

#include "helpers.h"

namespace fs = std::filesystem;

TEST_CASE("core/ knows nothing about autograd (or any layer above it)") {
  const fs::path core = fs::path(MINIDL_SOURCE_DIR) / "core";
  REQUIRE(fs::is_directory(core));
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(core)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.rfind("#include", 0) != 0) continue;
      for (const char* upper : {"autograd/", "layers/", "optim/", "data/", "models/", "dist/", "examples/"}) {
        INFO(entry.path().string(), ":", n, ": ", line);
        CHECK(line.find(upper) == std::string::npos);
      }
    }
  }
  CHECK(files > 10);
}

TEST_CASE("autograd/, layers/, optim/, data/ and models/ know nothing about dist/") {
  int files = 0;
  for (const char* folder : {"autograd", "layers", "optim", "data", "models"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(MINIDL_SOURCE_DIR) / folder)) {
      if (!entry.is_regular_file()) continue;
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        INFO(entry.path().string(), ":", n, ": ", line);
        if (line.rfind("#include", 0) == 0) CHECK(line.find("dist/") == std::string::npos);
      }
    }
  }
  CHECK(files > 20);
}

// A per-process scratch folder for tests that write files: ctest runs every test as its own
// process, in parallel under -j, and other build trees may run the same tests at the same time.
// The folder is passed on to child processes (gtest death tests re-execute the binary and must
// write where the parent looks) and removed after the process's tests, unless one failed.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace cytocon::testing_util {

inline std::filesystem::path scratch() {
  static const std::filesystem::path p = [] {
    const char* kVar = "CYTOCON_TEST_SCRATCH_DIR";
    if (const char* inherited = std::getenv(kVar)) return std::filesystem::path(inherited);
    std::filesystem::path mine = std::filesystem::temp_directory_path() / ("cytocon_test_" + std::to_string(::getpid()));
    ::setenv(kVar, mine.c_str(), 1);
    return mine;
  }();
  return p;
}

class RemoveScratch : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!::testing::UnitTest::GetInstance()->Failed()) std::filesystem::remove_all(scratch());
  }
};
inline ::testing::Environment* const kRemoveScratch = ::testing::AddGlobalTestEnvironment(new RemoveScratch);

// scratch()/name, emptied.
inline std::string fresh_dir(const std::string& name) {
  std::string d = (scratch() / name).string();
  std::filesystem::remove_all(d);
  return d;
}

}  // namespace cytocon::testing_util

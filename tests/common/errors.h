// Test helpers for checking error messages.
#pragma once
#include <exception>
#include <functional>
#include <string>

namespace cytocon::testing_util {

// The message of the exception `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace cytocon::testing_util

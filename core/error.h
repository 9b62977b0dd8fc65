// minidl::Error — the one exception type for bad input, with messages that say where
// (op or file), what was expected and what was found.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace minidl {

/// Raised for every user error: shape, dtype and device mismatches, malformed files.
/// Example: `catch (const minidl::Error& e) { std::cerr << e.what(); }`
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, bool names_module = false)
      : std::runtime_error(message), names_module_(names_module) {}
  /// True once a Module has put its type and dotted name in front of the message, so that
  /// only the innermost module names itself ("Conv2d 'layer1.0.conv1': conv2d: ...").
  bool names_module() const { return names_module_; }

 private:
  bool names_module_ = false;
};

namespace detail {

template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

/// Throws minidl::Error with `message`, followed by where it was raised ("[core/shape.cpp:11]") in a
/// debug build or with MINIDL_ERROR_LOCATION=1.
[[noreturn]] void fail(const char* file, int line, const std::string& message);

}  // namespace detail
}  // namespace minidl

/// MINIDL_CHECK(cond, "op: expected ", a, ", found ", b) throws minidl::Error unless cond.
#define MINIDL_CHECK(cond, ...)                                                   \
  do {                                                                            \
    if (!(cond)) ::minidl::detail::fail(__FILE__, __LINE__, ::minidl::detail::concat(__VA_ARGS__)); \
  } while (0)

/// MINIDL_FAIL("op: ...") throws unconditionally.
#define MINIDL_FAIL(...) ::minidl::detail::fail(__FILE__, __LINE__, ::minidl::detail::concat(__VA_ARGS__))

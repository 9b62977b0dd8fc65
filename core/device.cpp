#include "device.h"

#include "error.h"

namespace minidl {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string digits = text.substr(5);
    MINIDL_CHECK(!digits.empty() && digits.size() < 4 &&
                     digits.find_first_not_of("0123456789") == std::string::npos,
                 "Device: expected \"cpu\" or \"cuda:N\", found \"", text, "\"");
    return cuda(std::stoi(digits));
  }
  MINIDL_FAIL("Device: expected \"cpu\" or \"cuda:N\", found \"", text, "\"");
}

std::string to_string(const Device& device) {
  return device.is_cpu() ? "cpu" : "cuda:" + std::to_string(device.index);
}

std::ostream& operator<<(std::ostream& os, const Device& device) { return os << to_string(device); }

}  // namespace minidl

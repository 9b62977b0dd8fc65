// libFuzzer's entry for one target of fuzz/targets.h, chosen at build time (MINIDL_FUZZ_TARGET).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  minidl::fuzz::MINIDL_FUZZ_TARGET(data, size);
  return 0;
}

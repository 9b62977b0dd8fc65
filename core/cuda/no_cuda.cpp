// Built instead of the .cu files when MINIDL_CUDA is OFF or the toolkit is missing: every way
// into CUDA raises a clear minidl::Error (device_count() is 0 and never throws).
#include "../device.h"
#include "../error.h"
#include "allocator.h"

namespace minidl::cuda {
namespace {
[[noreturn]] void no_backend(const char* op) {
  MINIDL_FAIL(op, ": this build of minidl has no CUDA backend (configure with -DMINIDL_CUDA=ON on a machine ",
              "with nvcc, cuBLAS and cuDNN)");
}
}  // namespace

int device_count() { return 0; }
bool is_built() { return false; }
void synchronize(int) { no_backend("cuda::synchronize"); }
MemoryStats memory_stats(int) { no_backend("cuda::memory_stats"); }
void empty_cache() {}  // nothing is cached
void* allocate(size_t, int device) {
  MINIDL_FAIL("Storage: cannot allocate on cuda:", device, ": this build of minidl has no CUDA backend (configure ",
              "with -DMINIDL_CUDA=ON on a machine with nvcc, cuBLAS and cuDNN)");
}
void release(void*, size_t, int) {}
void copy(void*, int, const void*, int, size_t) { no_backend("to"); }

}  // namespace minidl::cuda

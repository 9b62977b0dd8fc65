// The CUDA backend: device tensors, copies both ways, the caching allocator and the errors for
// devices that are not there. Tests that need a GPU start with REQUIRE_CUDA_DEVICE() and are
// reported as skipped by ctest on machines without one (the dev and CI machines).
#include "helpers.h"

using namespace minidl;

TEST_CASE("asking for a CUDA device that is not there raises an error naming it") {
  const int count = cuda::device_count();
  const Device missing = Device::cuda(count);
  CHECK_ERROR(zeros({2}, kFloat32, missing), "Storage: cannot allocate on " + to_string(missing));
  CHECK_ERROR(randn({3}).to(missing), "cannot allocate on " + to_string(missing));
  if (!cuda::is_built()) {
    CHECK_ERROR(cuda::memory_stats(0), "cuda::memory_stats: this build of minidl has no CUDA backend");
    CHECK_ERROR(cuda::synchronize(), "cuda::synchronize: this build of minidl has no CUDA backend");
  } else {
    CHECK_ERROR(cuda::memory_stats(count), "cuda::memory_stats: no device " + to_string(missing));
  }
}

TEST_CASE("tensors go to the GPU and back unchanged, and so do their gradients") {
  REQUIRE_CUDA_DEVICE();
  Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  Tensor on_gpu = x.to(Device::cuda(0));
  CHECK(on_gpu.device() == Device::cuda(0));
  CHECK(on_gpu.shape() == x.shape());
  CHECK(on_gpu.to_vector<double>() == x.to_vector<double>());  // to_vector copies to the host
  Tensor back = on_gpu.to(Device::cpu());
  CHECK(back.device() == Device::cpu());
  back.backward(full({3, 4}, 2.0, kFloat64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>(12, 2.0));
  std::ostringstream printed;
  printed << on_gpu.detach();
  CHECK(printed.str().find("device='cuda:0'") != std::string::npos);
}

TEST_CASE("the CUDA caching allocator reuses freed blocks and reports its bytes") {
  REQUIRE_CUDA_DEVICE();
  cuda::synchronize();
  cuda::empty_cache();
  const cuda::MemoryStats before = cuda::memory_stats(0);
  size_t reserved_after_first = 0;
  for (int step = 0; step < 3; ++step) {
    Tensor t = zeros({1 << 20}, kFloat32).to(Device::cuda(0));  // 4 MiB
    const cuda::MemoryStats during = cuda::memory_stats(0);
    CHECK(during.allocated >= before.allocated + (4u << 20));
    CHECK(during.peak_allocated >= during.allocated);
    if (step == 0) reserved_after_first = during.reserved;
    CHECK(during.reserved == reserved_after_first);  // later steps reuse the cached block
  }
  CHECK(cuda::memory_stats(0).allocated == before.allocated);
  cuda::empty_cache();
  CHECK(cuda::memory_stats(0).reserved == cuda::memory_stats(0).allocated);
}

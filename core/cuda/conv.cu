// Conv2d on CUDA through cuDNN (the CPU version is core/cpu/conv.cpp): forward, backward-data,
// backward-filter and the bias gradient. One cuDNN handle per device, bound to its stream.
//
// Algorithms: for each shape (input, weight, stride, padding, dtype, device) cuDNN's heuristics
// (the _v7 queries) rank the algorithms once; the first one that runs is cached, so a training
// loop asks once per layer. Workspace comes from the caching allocator.
// Math: CUDNN_FMA_MATH, i.e. no TF32 tensor cores for float32 — the same numerics as the CPU,
// within float32 rounding (PyTorch's default allows TF32 for convolutions; see bench/).
#include <cudnn.h>

#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "allocator.h"
#include "../kernels/conv.h"
#include "runtime.h"

namespace minidl::cuda {
namespace {

using kernels::Window2d;

void check_cudnn(cudnnStatus_t status, const char* call, const char* op) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  MINIDL_FAIL(op, ": cuDNN call `", call, "` failed: ", cudnnGetErrorString(status));
}
#define MINIDL_CUDNN_CHECK(call, op) check_cudnn((call), #call, (op))

cudnnHandle_t handle(int device) {
  return once_per_device<cudnnHandle_t>(device, [](int d) {
    cudnnHandle_t h = nullptr;
    MINIDL_CUDNN_CHECK(cudnnCreate(&h), "conv2d");
    MINIDL_CUDNN_CHECK(cudnnSetStream(h, stream(d)), "conv2d");
    return h;
  });
}

cudnnDataType_t data_type(DType dtype) { return dtype == kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

// The descriptors of one convolution, destroyed with it.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descriptors(const Tensor& x_, const Tensor& w_, const Window2d& win, const char* op) {
    const cudnnDataType_t t = data_type(x_.dtype());
    const int N = static_cast<int>(x_.size(0)), C = static_cast<int>(x_.size(1)), H = static_cast<int>(x_.size(2)),
              W = static_cast<int>(x_.size(3)), K = static_cast<int>(w_.size(0)), R = static_cast<int>(w_.size(2)),
              S = static_cast<int>(w_.size(3));
    const int P = static_cast<int>(Window2d::out_size(H, R, win.stride_h, win.pad_h));
    const int Q = static_cast<int>(Window2d::out_size(W, S, win.stride_w, win.pad_w));
    MINIDL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x), op);
    MINIDL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y), op);
    MINIDL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias), op);
    MINIDL_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w), op);
    MINIDL_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv), op);
    MINIDL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, t, N, C, H, W), op);
    MINIDL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, t, N, K, P, Q), op);
    MINIDL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, t, 1, K, 1, 1), op);
    MINIDL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, t, CUDNN_TENSOR_NCHW, K, C, R, S), op);
    MINIDL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, static_cast<int>(win.pad_h), static_cast<int>(win.pad_w),
                                                       static_cast<int>(win.stride_h), static_cast<int>(win.stride_w),
                                                       1, 1, CUDNN_CROSS_CORRELATION, t),
                       op);
    MINIDL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), op);
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

// Workspace bytes from the caching allocator, for the duration of one call.
struct Workspace {
  void* data = nullptr;
  size_t bytes = 0;
  int device;
  Workspace(size_t n, int d) : bytes(n), device(d) {
    if (n) data = allocate(n, d);
  }
  ~Workspace() { release(data, bytes, device); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
};

enum class Pass { Forward, BackwardData, BackwardFilter };

// What an algorithm choice depends on.
using Key = std::tuple<Pass, int, int, Shape, Shape, int64_t, int64_t, int64_t, int64_t>;

Key key_of(Pass pass, const Tensor& x, const Tensor& w, const Window2d& win) {
  return {pass, x.device().index, static_cast<int>(x.dtype()), x.shape(), w.shape(), win.stride_h, win.stride_w,
          win.pad_h, win.pad_w};
}

// Runs one pass with the algorithm cached for `key`, or else with the first of cuDNN's ranked
// algorithms (query) that runs, and caches that one. For an algorithm, workspace_size(algo, &bytes)
// says how much workspace it needs (taken from the caching allocator) and run(algo, workspace,
// bytes) runs the pass with it; both return cuDNN's status.
template <typename Algo, typename Perf, typename Query, typename WorkspaceSize, typename Run>
void with_algorithm(const Key& key, Query query, WorkspaceSize workspace_size, Run run, const char* op) {
  static std::mutex mutex;
  static std::map<Key, Algo> chosen;
  const int device = std::get<1>(key);
  auto attempt = [&](Algo algo) {
    size_t bytes = 0;
    const cudnnStatus_t s = workspace_size(algo, &bytes);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    Workspace ws(bytes, device);
    return run(algo, ws.data, bytes);
  };
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = chosen.find(key);
    if (it != chosen.end()) {
      MINIDL_CUDNN_CHECK(attempt(it->second), op);
      return;
    }
  }
  std::vector<Perf> perf(16);
  int count = 0;
  MINIDL_CUDNN_CHECK(query(static_cast<int>(perf.size()), &count, perf.data()), op);
  cudnnStatus_t last = CUDNN_STATUS_NOT_SUPPORTED;
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    last = attempt(perf[i].algo);
    if (last == CUDNN_STATUS_SUCCESS) {
      std::lock_guard<std::mutex> lock(mutex);
      chosen[key] = perf[i].algo;
      return;
    }
  }
  check_cudnn(last, "no convolution algorithm ran", op);
}

// cuDNN's α = 1 and β = 0, in the type its compute type reads them as.
struct Scaling {
  double one_d = 1, zero_d = 0;
  float one_f = 1, zero_f = 0;
  const void* one;
  const void* zero;
  explicit Scaling(DType dtype)
      : one(dtype == kFloat64 ? static_cast<const void*>(&one_d) : &one_f),
        zero(dtype == kFloat64 ? static_cast<const void*>(&zero_d) : &zero_f) {}
  Scaling(const Scaling&) = delete;
  Scaling& operator=(const Scaling&) = delete;
};

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win, Tensor& y) {
  const int device = x.device().index;
  set_device(device, "conv2d");
  Descriptors d(x, w, win, "conv2d");
  cudnnHandle_t h = handle(device);
  const Scaling scaling(x.dtype());
  const void *one = scaling.one, *zero = scaling.zero;
  with_algorithm<cudnnConvolutionFwdAlgo_t, cudnnConvolutionFwdAlgoPerf_t>(
      key_of(Pass::Forward, x, w, win),
      [&](int n, int* count, cudnnConvolutionFwdAlgoPerf_t* perf) {
        return cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, n, count, perf);
      },
      [&](cudnnConvolutionFwdAlgo_t algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, algo, bytes);
      },
      [&](cudnnConvolutionFwdAlgo_t algo, void* ws, size_t bytes) {
        return cudnnConvolutionForward(h, one, d.x, x.raw_data(), d.w, w.raw_data(), d.conv, algo, ws, bytes, zero,
                                       d.y, y.raw_data());
      },
      "conv2d");
  if (bias.defined())
    MINIDL_CUDNN_CHECK(cudnnAddTensor(h, one, d.bias, bias.raw_data(), one, d.y, y.raw_data()), "conv2d");
}
MINIDL_REGISTER_KERNEL(conv2d_forward_kernel, CUDA, conv2d_forward);

void conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Window2d& win,
                     kernels::Conv2dGrads& grads) {
  const int device = x.device().index;
  set_device(device, "conv2d_backward");
  Descriptors d(x, w, win, "conv2d_backward");
  cudnnHandle_t h = handle(device);
  const Scaling scaling(x.dtype());
  const void *one = scaling.one, *zero = scaling.zero;
  if (grads.dx.defined()) {
    with_algorithm<cudnnConvolutionBwdDataAlgo_t, cudnnConvolutionBwdDataAlgoPerf_t>(
        key_of(Pass::BackwardData, x, w, win),
        [&](int n, int* count, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
          return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, n, count, perf);
        },
        [&](cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, algo, bytes);
        },
        [&](cudnnConvolutionBwdDataAlgo_t algo, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardData(h, one, d.w, w.raw_data(), d.y, dy.raw_data(), d.conv, algo, ws, bytes,
                                              zero, d.x, grads.dx.raw_data());
        },
        "conv2d_backward");
  }
  if (grads.dw.defined()) {
    with_algorithm<cudnnConvolutionBwdFilterAlgo_t, cudnnConvolutionBwdFilterAlgoPerf_t>(
        key_of(Pass::BackwardFilter, x, w, win),
        [&](int n, int* count, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
          return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, n, count, perf);
        },
        [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t* bytes) {
          return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, algo, bytes);
        },
        [&](cudnnConvolutionBwdFilterAlgo_t algo, void* ws, size_t bytes) {
          return cudnnConvolutionBackwardFilter(h, one, d.x, x.raw_data(), d.y, dy.raw_data(), d.conv, algo, ws, bytes,
                                                zero, d.w, grads.dw.raw_data());
        },
        "conv2d_backward");
  }
  if (grads.dbias.defined())
    MINIDL_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, one, d.y, dy.raw_data(), zero, d.bias, grads.dbias.raw_data()),
                       "conv2d_backward");
}
MINIDL_REGISTER_KERNEL(conv2d_backward_kernel, CUDA, conv2d_backward);

}  // namespace

}  // namespace minidl::cuda

// Matrix products on CUDA through cuBLAS, one handle per device bound to that device's stream.
// cuBLAS is column-major; a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so
// the operands are passed swapped and nothing is transposed in memory.
#include <cublas_v2.h>

#include "../kernels/matmul.h"
#include "runtime.h"

namespace minidl::cuda {
namespace {

void check_cublas(cublasStatus_t status, const char* call, const char* op) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  MINIDL_FAIL(op, ": cuBLAS call `", call, "` failed: ", cublasGetStatusName(status), ": ",
              cublasGetStatusString(status));
}
#define MINIDL_CUBLAS_CHECK(call, op) check_cublas((call), #call, (op))

cublasHandle_t handle(int device) {
  return once_per_device<cublasHandle_t>(device, [](int d) {
    cublasHandle_t h = nullptr;
    MINIDL_CUBLAS_CHECK(cublasCreate(&h), "matmul");
    MINIDL_CUBLAS_CHECK(cublasSetStream(h, stream(d)), "matmul");
    return h;
  });
}

void matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Tensor& out) {
  const int device = out.device().index;
  set_device(device, "matmul");
  const int64_t m = out.size(0), n = out.size(1), k = transpose_a ? a.size(0) : a.size(1);
  MINIDL_CHECK(m < (int64_t(1) << 31) && n < (int64_t(1) << 31) && k < (int64_t(1) << 31),
               "matmul: cuBLAS takes sizes below 2^31, found ", m, " x ", k, " x ", n);
  const cublasOperation_t op_a = transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int lda = static_cast<int>(a.size(1)), ldb = static_cast<int>(b.size(1)), ldc = static_cast<int>(n);
  cublasHandle_t h = handle(device);
  if (out.dtype() == kFloat32) {
    const float one = 1, zero = 0;
    MINIDL_CUBLAS_CHECK(cublasSgemm(h, op_b, op_a, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &one,
                                    b.data<float>(), ldb, a.data<float>(), lda, &zero, out.data<float>(), ldc),
                        "matmul");
  } else {
    const double one = 1, zero = 0;
    MINIDL_CUBLAS_CHECK(cublasDgemm(h, op_b, op_a, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &one,
                                    b.data<double>(), ldb, a.data<double>(), lda, &zero, out.data<double>(), ldc),
                        "matmul");
  }
}
MINIDL_REGISTER_KERNEL(matmul_kernel, CUDA, matmul);

}  // namespace

}  // namespace minidl::cuda

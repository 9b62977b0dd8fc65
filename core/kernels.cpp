// Argument checks for every raw kernel, in one place, then dispatch by device.
#include "kernels.h"

#include <algorithm>

#include "cpu/cpu.h"
#include "cuda/allocator.h"
#if MINIDL_WITH_CUDA
#include "cuda/cuda.h"
#endif
#include "factory.h"

namespace minidl::kernels {
namespace {

const char* name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
    case BinaryOp::Eq: return "eq";
    case BinaryOp::ReluGrad: return "relu_backward";
  }
  return "binary";
}

const char* name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "neg";
    case UnaryOp::Relu: return "relu";
    case UnaryOp::Exp: return "exp";
    case UnaryOp::Log: return "log";
    case UnaryOp::Sqrt: return "sqrt";
  }
  return "unary";
}

void check_defined(const Tensor& x, const char* op) {
  MINIDL_CHECK(x.defined(), op, ": expected a defined tensor, found an undefined one");
}

// Kernels run on the CPU unless the CUDA backend has them (MINIDL_WITH_CUDA: every kernel
// here); without it, this is the error for a tensor on a GPU.
void check_cpu(const Tensor& x, const char* op) {
  MINIDL_CHECK(x.device().is_cpu(), op, ": no kernel for device ", x.device(), " in this build");
}

// True for a GPU tensor in a build with the CUDA backend, which has every kernel here.
bool on_cuda(const Tensor& x) {
#if MINIDL_WITH_CUDA
  return x.device().is_cuda();
#else
  (void)x;
  return false;
#endif
}

// x is on a device this build has kernels for.
void check_device(const Tensor& x, const char* op) {
  if (!on_cuda(x)) check_cpu(x, op);
}

// A floating tensor on any device (for kernels that exist on every device).
void check_float_anywhere(const Tensor& x, const char* op) {
  check_defined(x, op);
  MINIDL_CHECK(is_floating(x.dtype()), op, ": expected dtype float32 or float64, found ", x.dtype());
}

void check_same(const Tensor& a, const Tensor& b, const char* op) {
  check_float_anywhere(a, op);
  check_float_anywhere(b, op);
  MINIDL_CHECK(a.device() == b.device(), op, ": expected both tensors on one device, found ", a.device(),
               " and ", b.device());
  MINIDL_CHECK(a.dtype() == b.dtype(), op, ": expected both tensors of one dtype, found ", a.dtype(),
               " and ", b.dtype());
}

// Normalizes dims (negative = from the end) to a mask over x's dims; empty = all dims.
std::vector<bool> reduced_mask(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> mask(x.dim(), dims.empty());
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, x.dim(), op);
    MINIDL_CHECK(!mask[w], op, ": dim ", d, " appears more than once in the reduced dims");
    mask[w] = true;
  }
  return mask;
}

Tensor reduce(cpu::Reduction how, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
              const char* op) {
  check_float_anywhere(x, op);
  check_device(x, op);
  const std::vector<bool> mask = reduced_mask(x, dims, op);
  Shape kept = x.shape(), squeezed;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (mask[d]) {
      MINIDL_CHECK(how == cpu::Reduction::Sum || x.shape()[d] > 0, op, ": cannot reduce over dim ", d,
                   " of size 0 in shape ", to_string(x.shape()));
      kept[d] = 1;
    } else {
      squeezed.push_back(x.shape()[d]);
    }
  }
  Tensor out = Tensor::empty(kept, x.dtype(), x.device());
#if MINIDL_WITH_CUDA
  if (on_cuda(x)) {
    cuda::reduce(how == cpu::Reduction::Max, x, mask, out);
    return keepdim ? out : reshape(out, squeezed);
  }
#endif
  cpu::reduce(how, x, mask, out);
  return keepdim ? out : reshape(out, squeezed);
}

}  // namespace

// Runs the CUDA kernel for tensors on a GPU, the CPU kernel otherwise (checked by the caller).
#if MINIDL_WITH_CUDA
#define MINIDL_ON_DEVICE(x, call) (on_cuda(x) ? cuda::call : cpu::call)
#else
#define MINIDL_ON_DEVICE(x, call) cpu::call
#endif

// Any devices: src is brought to dst's device first, then converted to dst's dtype there.
void copy_(Tensor& dst, const Tensor& src) {
  check_defined(dst, "copy_");
  check_defined(src, "copy_");
  MINIDL_CHECK(dst.numel() == src.numel(), "copy_: cannot copy ", src.numel(), " elements ", to_string(src.shape()),
               " into ", dst.numel(), " elements ", to_string(dst.shape()));
  check_device(dst, "copy_");
  const Tensor here = to_device(src, dst.device());
  MINIDL_ON_DEVICE(dst, cast(here, dst));
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same(a, b, name(op));
  check_device(a, name(op));
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name(op)), a.dtype(), a.device());
  MINIDL_ON_DEVICE(a, binary(op, a, b, out));
  return out;
}

Tensor unary(UnaryOp op, const Tensor& x) {
  check_float_anywhere(x, name(op));
  check_device(x, name(op));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  MINIDL_ON_DEVICE(x, unary(op, x, out));
  return out;
}

Tensor pow(const Tensor& x, double exponent) {
  check_float_anywhere(x, "pow");
  check_device(x, "pow");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  MINIDL_ON_DEVICE(x, pow(x, exponent, out));
  return out;
}

Tensor scale(const Tensor& x, double s) {
  check_float_anywhere(x, "scale");
  return binary(BinaryOp::Mul, x, scalar_tensor(s, x.dtype(), x.device()));
}

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce(cpu::Reduction::Sum, x, dims, keepdim, "sum");
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Tensor total = reduce(cpu::Reduction::Sum, x, dims, keepdim, "mean");
  const int64_t count = total.numel() > 0 ? x.numel() / total.numel() : 0;
  return scale(total, 1.0 / static_cast<double>(count));
}

Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce(cpu::Reduction::Max, x, dims, keepdim, "max");
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  check_float_anywhere(x, "broadcast_to");
  check_device(x, "broadcast_to");
  MINIDL_CHECK(broadcast_shapes(x.shape(), shape, "broadcast_to") == shape, "broadcast_to: shape ",
               to_string(x.shape()), " cannot be broadcast to ", to_string(shape));
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  MINIDL_ON_DEVICE(x, broadcast_to(x, out));
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  check_float_anywhere(x, "sum_to");
  MINIDL_CHECK(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(), "sum_to: shape ",
               to_string(x.shape()), " is not a broadcast of ", to_string(shape));
  if (x.shape() == shape) return x;
  // Sum the leading dims that `shape` lacks and the dims where it has size 1.
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  return reshape(sum(x, dims, /*keepdim=*/true), shape);
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  check_same(a, b, "matmul");
  check_device(a, "matmul");
  MINIDL_CHECK(a.dim() == 2 && b.dim() == 2, "matmul: expected two 2-D tensors, found shapes ",
               to_string(a.shape()), " and ", to_string(b.shape()));
  const int64_t m = transpose_a ? a.size(1) : a.size(0), k = transpose_a ? a.size(0) : a.size(1);
  const int64_t kb = transpose_b ? b.size(1) : b.size(0), n = transpose_b ? b.size(0) : b.size(1);
  MINIDL_CHECK(k == kb, "matmul: inner sizes differ: ", to_string(a.shape()), (transpose_a ? "ᵀ" : ""),
               " · ", to_string(b.shape()), (transpose_b ? "ᵀ" : ""), " (", k, " vs ", kb, ")");
  Tensor out = Tensor::empty({m, n}, a.dtype(), a.device());
  MINIDL_ON_DEVICE(a, matmul(a, b, transpose_a, transpose_b, out));
  return out;
}

Tensor transpose(const Tensor& x) {
  check_float_anywhere(x, "transpose");
  check_device(x, "transpose");
  MINIDL_CHECK(x.dim() == 2, "transpose: expected a 2-D tensor, found shape ", to_string(x.shape()));
  Tensor out = Tensor::empty({x.size(1), x.size(0)}, x.dtype(), x.device());
  MINIDL_ON_DEVICE(x, transpose(x, out));
  return out;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined(x, "reshape");
  Shape resolved = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      MINIDL_CHECK(infer < 0, "reshape: only one size may be -1, found ", to_string(shape));
      infer = static_cast<int64_t>(i);
    } else {
      MINIDL_CHECK(shape[i] >= 0, "reshape: sizes must be >= 0 or -1, found ", to_string(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    MINIDL_CHECK(known != 0 && x.numel() % known == 0, "reshape: cannot reshape ", to_string(x.shape()),
                 " (", x.numel(), " elements) to ", to_string(shape));
    resolved[infer] = x.numel() / known;
  }
  MINIDL_CHECK(numel(resolved) == x.numel(), "reshape: cannot reshape ", to_string(x.shape()), " (",
               x.numel(), " elements) to ", to_string(shape), " (", numel(resolved), " elements)");
  return Tensor(x.storage(), x.storage_offset(), resolved, x.dtype());
}

Tensor copy(const Tensor& x) {
  check_defined(x, "clone");
  return cast(x, x.dtype());
}

Tensor to_device(const Tensor& x, Device device) {
  check_defined(x, "to");
  if (x.device() == device) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
  auto index = [](Device d) { return d.is_cuda() ? d.index : -1; };  // -1: the host
  cuda::copy(out.raw_data(), index(device), x.raw_data(), index(x.device()), x.nbytes());
  return out;
}

Tensor cast(const Tensor& x, DType dtype) {
  check_defined(x, "to");
  check_device(x, "to");
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  MINIDL_ON_DEVICE(x, cast(x, out));
  return out;
}

// ---- neural-network kernels: arguments were checked by the calling op; pick the device ----

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Window2d& win) {
  check_device(x, "conv2d");
  return MINIDL_ON_DEVICE(x, conv2d_forward(x, w, bias, win));
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Window2d& win, bool need_dx,
                            bool need_dw, bool need_dbias) {
  check_device(x, "conv2d_backward");
  MINIDL_CHECK(dy.device() == x.device(), "conv2d_backward: the gradient is on ", dy.device(), ", the input on ",
               x.device());
  return MINIDL_ON_DEVICE(x, conv2d_backward(dy, x, w, win, need_dx, need_dw, need_dbias));
}

NormForward group_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, double eps) {
  check_device(x, "group_norm");
  return MINIDL_ON_DEVICE(x, group_norm_forward(x, weight, bias, groups, eps));
}

NormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, int64_t groups, bool need_dx, bool need_dparams) {
  check_device(x, "group_norm_backward");
  MINIDL_CHECK(dy.device() == x.device(), "group_norm_backward: the gradient is on ", dy.device(), ", the input on ",
               x.device());
  return MINIDL_ON_DEVICE(x, group_norm_backward(dy, x, mean, rstd, weight, groups, need_dx, need_dparams));
}

NormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                               Tensor& running_var, bool training, double momentum, double eps) {
  check_device(x, "batch_norm");
  return MINIDL_ON_DEVICE(x, batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps));
}

NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, bool training, bool need_dx, bool need_dparams) {
  check_device(x, "batch_norm_backward");
  MINIDL_CHECK(dy.device() == x.device(), "batch_norm_backward: the gradient is on ", dy.device(), ", the input on ",
               x.device());
  return MINIDL_ON_DEVICE(x, batch_norm_backward(dy, x, mean, rstd, weight, training, need_dx, need_dparams));
}

MaxPoolForward max_pool2d_forward(const Tensor& x, const Window2d& win) {
  check_device(x, "max_pool2d");
  return MINIDL_ON_DEVICE(x, max_pool2d_forward(x, win));
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape) {
  check_device(dy, "max_pool2d_backward");
  return MINIDL_ON_DEVICE(dy, max_pool2d_backward(dy, indices, x_shape));
}

Tensor avg_pool2d_forward(const Tensor& x, const Window2d& win) {
  check_device(x, "avg_pool2d");
  return MINIDL_ON_DEVICE(x, avg_pool2d_forward(x, win));
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Window2d& win) {
  check_device(dy, "avg_pool2d_backward");
  return MINIDL_ON_DEVICE(dy, avg_pool2d_backward(dy, x_shape, win));
}

Tensor adaptive_avg_pool2d_forward(const Tensor& x, int64_t out_h, int64_t out_w) {
  check_device(x, "adaptive_avg_pool2d");
  return MINIDL_ON_DEVICE(x, adaptive_avg_pool2d_forward(x, out_h, out_w));
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape) {
  check_device(dy, "adaptive_avg_pool2d_backward");
  return MINIDL_ON_DEVICE(dy, adaptive_avg_pool2d_backward(dy, x_shape));
}

Tensor log_softmax_forward(const Tensor& x) {
  check_device(x, "log_softmax");
  return MINIDL_ON_DEVICE(x, log_softmax_forward(x));
}

Tensor log_softmax_backward(const Tensor& dy, const Tensor& y) {
  check_device(dy, "log_softmax_backward");
  return MINIDL_ON_DEVICE(dy, log_softmax_backward(dy, y));
}

CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& labels, double label_smoothing) {
  check_device(logits, "cross_entropy");
  return MINIDL_ON_DEVICE(logits, cross_entropy_forward(logits, labels, label_smoothing));
}

Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& log_probs, const Tensor& labels,
                              double label_smoothing) {
  check_device(log_probs, "cross_entropy_backward");
  return MINIDL_ON_DEVICE(log_probs, cross_entropy_backward(dloss, log_probs, labels, label_smoothing));
}

void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step) {
  check_device(param, "sgd_step");
  MINIDL_CHECK(grad.device() == param.device(), "sgd_step: the gradient is on ", grad.device(), ", the parameter on ",
               param.device());
  MINIDL_ON_DEVICE(param, sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                                   first_step));
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  check_device(param, "adam_step");
  MINIDL_CHECK(grad.device() == param.device(), "adam_step: the gradient is on ", grad.device(), ", the parameter on ",
               param.device());
  MINIDL_ON_DEVICE(param, adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                                    decoupled));
}

}  // namespace minidl::kernels

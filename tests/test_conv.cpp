// conv2d on every device against a plain-loop convolution in double (reference.h), PyTorch's
// fixtures, gradcheck and its errors. On the CPU the shapes exercise the edges of
// core/cpu/conv.cpp's shifted-windows products — forward, backward-data per phase of the input,
// weight gradient over chunks of samples, strides 1 to 3 (unread phases included), padding from
// 0 to past the kernel — and of its 1x1 plain GEMM: batch 1 (one GEMM split between threads) and
// batches larger than a chunk, more input channels than one GEMM k-slab (C·R·S > 384),
// rectangular images, kernels of 1, 2, 3, 5, 7.
#include "devices.h"
#include "fixtures.h"
#include "reference.h"

using namespace minidl;

namespace {

using In = const std::vector<Tensor>&;
using test::reference::ConvShape;

void check_case(const test::Target& target, const ConvShape& cc) {
  CAPTURE(cc.n);
  CAPTURE(cc.c);
  CAPTURE(cc.h);
  CAPTURE(cc.w);
  CAPTURE(cc.k);
  CAPTURE(cc.r);
  CAPTURE(cc.stride);
  CAPTURE(cc.pad);
  Generator gen(static_cast<uint64_t>(cc.c * 7 + cc.r * 3 + cc.pad + cc.n * 11));
  const Tensor x = randn({cc.n, cc.c, cc.h, cc.w}, kFloat64, gen);
  const Tensor w = randn({cc.k, cc.c, cc.r, cc.r}, kFloat64, gen);
  const Tensor b = randn({cc.k}, kFloat64, gen);
  const Tensor g = randn({cc.n, cc.k, cc.p(), cc.q()}, kFloat64, gen);
  auto rounded = [&](const Tensor& t) { return t.to(target.dtype).to_vector<double>(); };
  const test::reference::ConvResult ref = test::reference::conv2d(cc, rounded(x), rounded(w), rounded(b), rounded(g));

  Tensor xt = target.put(x, true), wt = target.put(w, true), bt = target.put(b, true);
  Tensor y = conv2d(xt, wt, bt, cc.stride, cc.pad);
  y.backward(target.put(g));
  const double tol = target.tolerance();
  test::check_close(y, from_vector(ref.y, y.shape()), tol, "y");
  test::check_close(xt.grad(), from_vector(ref.dx, x.shape()), tol, "dx");
  test::check_close(wt.grad(), from_vector(ref.dw, w.shape()), tol, "dw");
  test::check_close(bt.grad(), from_vector(ref.db, b.shape()), tol, "dbias");
}

}  // namespace

TEST_CASE_ON_DEVICES("conv2d equals a plain-loop convolution, forward and backward") {
  const ConvShape cases[] = {
      {1, 3, 9, 7, 5, 3, 1, 1},     // batch 1: the GEMMs are split between threads
      {5, 3, 9, 7, 5, 3, 1, 1},     // batches split between threads
      {2, 50, 6, 5, 9, 3, 1, 1},    // C·R·S = 450: two k-slabs
      {3, 4, 8, 11, 6, 3, 1, 0},    // no padding
      {2, 4, 7, 6, 3, 5, 1, 1},     // padding < (R − 1) / 2
      {2, 2, 5, 6, 3, 1, 1, 0},     // 1x1: the input itself is col
      {40, 2, 4, 3, 3, 3, 1, 1},    // more samples than one weight-gradient chunk
      {48, 5, 7, 6, 37, 3, 1, 1},   // 37 output channels: the weight gradient as a GEMM on AVX2 (edge
                                    // tiles; 8 ranges of 6 samples, 432 values each: 2 k-slabs)
      {3, 5, 9, 8, 4, 3, 2, 1},     // stride 2: four phases of the input, odd rows
      {2, 3, 10, 9, 4, 1, 2, 0},    // 1x1 stride 2: one phase read, dx zero on the other three
      {1, 6, 9, 10, 8, 1, 2, 0},    // the same, batch 1 (the product split between threads), odd rows
      {2, 3, 8, 7, 4, 1, 3, 0},     // 1x1 stride 3: rows and columns past the last phase row
      {3, 8, 10, 10, 16, 3, 2, 1},  // stride 2, more channels
      {2, 3, 8, 9, 4, 3, 2, 1},     // stride 2, odd columns: dx's last column from the even phase alone
      {1, 3, 16, 16, 8, 7, 2, 3},   // the ResNet stem: 7x7 stride 2 padding 3
      {2, 3, 9, 8, 4, 2, 2, 1},     // 2x2 stride 2 padding 1: taps in phases 1 and 0
      {2, 3, 11, 10, 4, 2, 3, 0},   // stride 3 > kernel: 4 of 9 phases read
      {2, 3, 10, 11, 5, 3, 3, 2},   // stride 3 padding 2
      {2, 3, 6, 5, 4, 1, 1, 1},     // padding > kernel − 1: rows and columns of zeros only
      {2, 3, 9, 8, 4, 3, 2, 3},     // the same with stride 2
  };
  test::on_each_path_of(target, [&] {
    for (const ConvShape& cc : cases) check_case(target, cc);
  });
}

TEST_CASE("Winograd F(2x2, 3x3) and F(4x4, 3x3) equal the plain-loop convolution: float64 to 1e-13, float32 within 2e-6 and 4e-5, every CPU path") {
  // Forced on (Auto keeps float64, and float32 below some channel counts, on the direct kernel).
  // Odd and even output sizes (edge tiles of both sizes), padding 0, 1 and 2 (backward-data pads
  // by 2 − pad), several chunks of samples with a short last one, channels past a GEMM tile's rows.
  // float32's bounds: inputs and weights are rounded to float32 before the float64 reference, so
  // what is left is the arithmetic's — the transforms' on top of the products' sums. Measured on
  // these shapes (error over the largest reference value), F(2x2): float32 up to 3.2e-7, float64
  // 5.6e-16; F(4x4), whose transforms multiply by up to 8 and divide by 6 and 24: float32 up to
  // 6.7e-6, float64 8.6e-15. The bounds leave ~6x room or more.
  const ConvShape cases[] = {
      {2, 3, 9, 7, 5, 3, 1, 1},     // P = 9, Q = 7: odd, edge tiles on both sides
      {3, 4, 8, 11, 6, 3, 1, 0},    // no padding
      {2, 5, 6, 6, 4, 3, 1, 2},     // padding 2: backward-data with padding 0
      {19, 3, 30, 30, 5, 3, 1, 1},  // 225 (F(2x2)) or 64 (F(4x4)) tiles a sample: 19 or 10 chunks,
                                    // more than the weight gradient's 8 ranges
      {2, 40, 8, 8, 70, 3, 1, 1},   // 70 output channels: partial GEMM tiles
  };
  struct Variant {
    ConvAlgorithm algorithm;
    double float32_bound;
  };
  test::for_each_cpu_path([&] {
    for (const Variant variant : {Variant{ConvAlgorithm::Winograd, 2e-6}, Variant{ConvAlgorithm::Winograd4, 4e-5}}) {
      CAPTURE(static_cast<int>(variant.algorithm));
      for (const ConvShape& cc : cases) {
        CAPTURE(cc.c);
        CAPTURE(cc.h);
        CAPTURE(cc.pad);
        for (DType dtype : {kFloat64, kFloat32}) {
          CAPTURE(to_string(dtype));
          Generator gen(static_cast<uint64_t>(cc.c * 7 + cc.h + cc.pad));
          const Tensor x = randn({cc.n, cc.c, cc.h, cc.w}, kFloat64, gen).to(dtype);
          const Tensor w = randn({cc.k, cc.c, 3, 3}, kFloat64, gen).to(dtype);
          const Tensor b = randn({cc.k}, kFloat64, gen).to(dtype);
          const Tensor g = randn({cc.n, cc.k, cc.p(), cc.q()}, kFloat64, gen).to(dtype);
          const test::reference::ConvResult ref = test::reference::conv2d(
              cc, x.to_vector<double>(), w.to_vector<double>(), b.to_vector<double>(), g.to_vector<double>());
          set_cpu_conv_algorithm(variant.algorithm);
          Tensor xt = x.detach().requires_grad_(), wt = w.detach().requires_grad_();
          Tensor y = conv2d(xt, wt, b, 1, cc.pad);
          y.backward(g);
          set_cpu_conv_algorithm(ConvAlgorithm::Auto);
          const double tol = dtype == kFloat64 ? 1e-13 : variant.float32_bound;
          test::check_close(y, from_vector(ref.y, y.shape()), tol, "y");
          test::check_close(xt.grad(), from_vector(ref.dx, x.shape()), tol, "dx");
          test::check_close(wt.grad(), from_vector(ref.dw, w.shape()), tol, "dw");
        }
      }
    }
  });
}

TEST_CASE_ON_DEVICES("conv2d of an empty batch is empty, and its weight gradient is zero") {
  Tensor x = target.put(zeros({0, 3, 5, 5}), true), w = target.put(ones({4, 3, 3, 3}), true);
  Tensor y = conv2d(x, w, Tensor(), 1, 1);
  CHECK(to_string(y.shape()) == "[0, 4, 5, 5]");
  sum(y).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>(108, 0.0));
}

TEST_CASE_ON_DEVICES_WITH("conv2d matches PyTorch: 3x3 stride 1/2 padding 0/1, 1x1, 7x7 stride 2 padding 3", kFloat32) {
  struct Case {
    const char* name;
    int64_t stride, padding;
    bool bias;
  };
  for (const Case& c : {Case{"3x3_s1_p1_bias", 1, 1, true}, Case{"3x3_s1_p0", 1, 0, false},
                        Case{"3x3_s2_p1_bias", 2, 1, true}, Case{"3x3_s2_p0", 2, 0, false}, Case{"1x1_s2", 2, 0, false},
                        Case{"1x1_s1_bias", 1, 0, true}, Case{"7x7_s2_p3", 2, 3, false}}) {
    test::compare_with_torch("layers", std::string("conv_") + c.name, c.bias ? 3 : 2,
                             [&](In x) { return conv2d(x[0], x[1], c.bias ? x[2] : Tensor(), c.stride, c.padding); },
                             target.device);
  }
}

TEST_CASE("gradcheck: conv2d with every stride, padding and kernel size, and the layer") {
  Generator gen(1);
  const Tensor x = randn({2, 3, 7, 6}, kFloat64, gen);
  for (int64_t k : {1, 3, 5}) {
    for (int64_t stride : {1, 2}) {
      for (int64_t padding : {int64_t{0}, k / 2}) {
        CAPTURE(k);
        CAPTURE(stride);
        CAPTURE(padding);
        const Tensor w = randn({4, 3, k, k}, kFloat64, gen) * 0.3, b = randn({4}, kFloat64, gen);
        test::check_gradcheck([=](In in) { return conv2d(in[0], in[1], in[2], stride, padding); }, {x, w, b});
      }
    }
  }
  test::check_gradcheck([](In in) { return conv2d(in[0], in[1], Tensor(), 2, 3); },
                        {randn({1, 2, 9, 9}, kFloat64, gen), randn({3, 2, 7, 7}, kFloat64, gen) * 0.2});
  Conv2d conv(3, 4, 3, 2, 1);
  test::check_layer_gradcheck(conv, randn({2, 3, 6, 5}, kFloat64, gen));
}

// conv2d_add adds the residual in the convolution's output pass: bitwise the values and gradients
// of conv2d then add, whichever kernel runs — direct (stride 2, a 5x5 kernel), Winograd (3x3 from
// 16 channels on AVX2 and generic), the 1x1 GEMM — with and without a bias, on every path.
TEST_CASE("conv2d_add equals conv2d + add bitwise, forward and backward, and passes gradcheck") {
  struct Case {
    int64_t c, k, kernel, stride, padding, hw;
    bool bias;
  };
  test::for_each_cpu_path([] {
    for (const Case& c : {Case{16, 16, 3, 1, 1, 12, true}, Case{32, 32, 3, 1, 1, 8, false},
                          Case{16, 32, 3, 2, 1, 16, true}, Case{8, 16, 1, 1, 0, 10, true},
                          Case{4, 6, 5, 1, 2, 9, false}}) {
      CAPTURE(c.c);
      CAPTURE(c.kernel);
      CAPTURE(c.stride);
      Generator gen(21);
      const Tensor x = randn({3, c.c, c.hw, c.hw}, kFloat32, gen);
      const Tensor w = randn({c.k, c.c, c.kernel, c.kernel}, kFloat32, gen);
      const Tensor b = c.bias ? randn({c.k}, kFloat32, gen) : Tensor();
      const int64_t out = (c.hw + 2 * c.padding - c.kernel) / c.stride + 1;
      const Tensor r = randn({3, c.k, out, out}, kFloat32, gen), dy = randn({3, c.k, out, out}, kFloat32, gen);
      std::vector<std::vector<float>> results[2];
      for (int fused = 0; fused < 2; ++fused) {
        Tensor xs = x.detach().requires_grad_(), ws = w.detach().requires_grad_(), rs = r.detach().requires_grad_();
        Tensor bs = c.bias ? b.detach().requires_grad_() : Tensor();
        Tensor y = fused ? conv2d_add(xs, ws, bs, c.stride, c.padding, rs)
                         : conv2d(xs, ws, bs, c.stride, c.padding) + rs;
        y.backward(dy);
        results[fused] = {y.to_vector<float>(), xs.grad().to_vector<float>(), ws.grad().to_vector<float>(),
                          rs.grad().to_vector<float>(), c.bias ? bs.grad().to_vector<float>() : std::vector<float>()};
      }
      for (size_t i = 0; i < results[0].size(); ++i) CHECK(results[0][i] == results[1][i]);
    }
  });
  Generator gen(22);
  test::check_gradcheck([](In in) { return conv2d_add(in[0], in[1], in[2], 2, 1, in[3]); },
                        {randn({2, 3, 7, 6}, kFloat64, gen), randn({4, 3, 3, 3}, kFloat64, gen) * 0.3,
                         randn({4}, kFloat64, gen), randn({2, 4, 4, 3}, kFloat64, gen)});
  test::check_gradcheck([](In in) { return conv2d_add(in[0], in[1], Tensor(), 1, 1, in[2]); },
                        {randn({2, 3, 6, 6}, kFloat64, gen), randn({4, 3, 3, 3}, kFloat64, gen) * 0.3,
                         randn({2, 4, 6, 6}, kFloat64, gen)});
  CHECK_ERROR(conv2d_add(zeros({2, 3, 8, 8}), zeros({4, 3, 3, 3}), Tensor(), 1, 1, zeros({2, 4, 8, 7})),
              "conv2d_add: expected a residual of the output's shape [2, 4, 8, 8], found [2, 4, 8, 7]");
  CHECK_ERROR(conv2d_add(zeros({2, 3, 8, 8}), zeros({4, 3, 3, 3}), Tensor(), 1, 1, Tensor()),
              "conv2d_add: expected a residual of the output's shape [2, 4, 8, 8], found none");
}

TEST_CASE("conv2d rejects mismatched shapes") {
  CHECK_ERROR(conv2d(zeros({2, 3, 8, 8}), zeros({4, 2, 3, 3})),
              "conv2d: input has 3 channels but the weight expects 2 (input [2, 3, 8, 8], weight [4, 2, 3, 3])");
  CHECK_ERROR(conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})), "conv2d: expected a 4-D input [N, C, H, W], found shape [3, 8, 8]");
  CHECK_ERROR(conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), zeros({5})), "conv2d: expected bias of shape [4], found [5]");
  CHECK_ERROR(conv2d(zeros({1, 3, 4, 4}), zeros({4, 3, 7, 7})), "conv2d: a 7x7 window with padding 0 does not fit a 4x4 input");
  CHECK_ERROR(conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), Tensor(), 0), "conv2d: expected kernel > 0, stride > 0");
  CHECK_ERROR(conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}, kFloat64)), "conv2d: weight has dtype float64, the input float32");
  CHECK_ERROR(Conv2d(3, 0, 3), "Conv2d: expected positive channels");
}

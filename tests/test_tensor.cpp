// Tensor basics: factories, the generator, views, element access, dtypes, devices.
#include <cmath>

#include "helpers.h"

using namespace minidl;

TEST_CASE("factories fill shape, dtype and values") {
  Tensor z = zeros({2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(z.dim() == 2);
  CHECK(z.size(-1) == 3);
  CHECK(z.numel() == 6);
  CHECK(z.device() == Device::cpu());
  test::check_values(z, {2, 3}, {0, 0, 0, 0, 0, 0});
  test::check_values(ones({2}, kFloat64), {2}, {1, 1});
  CHECK(ones({2}, kFloat64).dtype() == kFloat64);
  test::check_values(full({3}, 0.5), {3}, {0.5, 0.5, 0.5});
  test::check_values(arange(4), {4}, {0, 1, 2, 3});
  test::check_values(arange(0, 1, 0.25, kFloat64), {4}, {0, 0.25, 0.5, 0.75});
  test::check_values(arange(3, 0, -1), {3}, {3, 2, 1});
  CHECK(arange(0).numel() == 0);
  test::check_values(scalar_tensor(2.5), {}, {2.5});
  test::check_values(from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}), {2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(from_vector<int64_t>({7, 8}).dtype() == kInt64);
  CHECK(from_vector<int32_t>({7, 8}).at<int>({1}) == 8);
}

TEST_CASE("factories reject bad arguments with clear errors") {
  CHECK_ERROR(zeros({2, -1}), "full: sizes must be >= 0, found [2, -1]");
  CHECK_ERROR(from_vector<float>({1, 2, 3}, {2, 2}), "from_vector: shape [2, 2] holds 4 elements, found 3 values");
  CHECK_ERROR(arange(0, 1, 0), "arange: expected finite start, end and a non-zero step");
  if (cuda::device_count() <= 7) CHECK_ERROR(zeros({2}, kFloat32, Device::cuda(7)), "Storage: cannot allocate on cuda:7");
}

TEST_CASE("the generator gives the same numbers for the same seed, on every machine") {
  // Pinned values: SplitMix64 and the double conversion are exact integer/IEEE arithmetic,
  // so these hold bit for bit on any machine.
  Generator g(0);
  CHECK(g.at(0) == 0xe220a8397b1dcdafULL);
  CHECK(g.uniform_at(0) == 0.8833108082136426);  // (word >> 11) · 2⁻⁵³, exact

  manual_seed(42);
  const std::vector<float> a = randn({100}).to_vector<float>();
  const std::vector<float> b = randn({100}).to_vector<float>();
  manual_seed(42);
  CHECK(randn({100}).to_vector<float>() == a);
  CHECK(randn({100}).to_vector<float>() == b);
  CHECK(a != b);
  Generator g1(7), g2(7), g3(8);
  CHECK(rand({10}, kFloat64, g1).to_vector<double>() == rand({10}, kFloat64, g2).to_vector<double>());
  CHECK(rand({10}, kFloat64, g1).to_vector<double>() != rand({10}, kFloat64, g3).to_vector<double>());
  // float32 and float64 draws of the same seed are the same numbers, rounded.
  Generator g4(3), g5(3);
  const std::vector<double> d = randn({5}, kFloat64, g4).to_vector<double>();
  const std::vector<float> f = randn({5}, kFloat32, g5).to_vector<float>();
  for (size_t i = 0; i < d.size(); ++i) CHECK(f[i] == static_cast<float>(d[i]));
}

TEST_CASE("rand is uniform on 0 <= u < 1 and randn is standard normal") {
  Generator g(1);
  const std::vector<double> u = rand({200000}, kFloat64, g).to_vector<double>();
  double mean = 0, lo = 1, hi = 0;
  for (double x : u) { mean += x; lo = std::min(lo, x); hi = std::max(hi, x); }
  mean /= u.size();
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(std::abs(mean - 0.5) < 0.005);
  const std::vector<double> n = randn({200000}, kFloat64, g).to_vector<double>();
  double m = 0, var = 0;
  for (double x : n) m += x;
  m /= n.size();
  for (double x : n) var += (x - m) * (x - m);
  var /= n.size();
  CHECK(std::abs(m) < 0.01);
  CHECK(std::abs(var - 1.0) < 0.01);
}

TEST_CASE("reshape and view share storage, -1 infers a size") {
  Tensor x = arange(6);
  Tensor y = x.reshape({2, -1});
  CHECK(to_string(y.shape()) == "[2, 3]");
  CHECK(y.storage() == x.storage());
  y.data<float>()[4] = 40;
  CHECK(x.at<float>({4}) == 40);
  CHECK(to_string(x.view({3, 1, 2}).shape()) == "[3, 1, 2]");
  CHECK_ERROR(x.reshape({4, -1}), "reshape: cannot reshape [6] (6 elements) to [4, -1]");
  CHECK_ERROR(x.reshape({4, 2}), "reshape: cannot reshape [6] (6 elements) to [4, 2] (8 elements)");
  CHECK_ERROR(x.reshape({-1, -1}), "reshape: only one size may be -1");
}

TEST_CASE("clone and to(dtype) copy, item, at and to_vector read") {
  Tensor x = from_vector<float>({1.5f, -2.25f, 3.0f});
  Tensor c = x.clone();
  CHECK(c.storage() != x.storage());
  c.data<float>()[0] = 9;
  CHECK(x.at<float>({0}) == 1.5f);
  Tensor d = x.to(kFloat64);
  CHECK(d.dtype() == kFloat64);
  test::check_values(d, {3}, {1.5, -2.25, 3.0}, 0);
  CHECK(x.to(kFloat32).is_same(x));
  test::check_values(x.to(kInt64), {3}, {1, -2, 3}, 0);
  CHECK(scalar_tensor(4.25, kFloat64).item<double>() == 4.25);
  CHECK(x.at<double>({2}) == 3.0);
  CHECK(x.to_vector<double>() == std::vector<double>{1.5, -2.25, 3.0});
  CHECK_ERROR(x.item<float>(), "item: expected a tensor with one element, found shape [3]");
  CHECK_ERROR(x.at<float>({3}), "at: index 3 is out of range for dim 0 of shape [3]");
  CHECK_ERROR(x.at<float>({0, 0}), "at: expected 1 indices for shape [3], found 2");
  CHECK_ERROR(x.data<double>(), "data<T>(): expected dtype float64, found float32");
  CHECK_ERROR(Tensor().shape(), "Tensor: this tensor is undefined");
}

TEST_CASE("dtypes and devices have PyTorch's names") {
  CHECK(to_string(kFloat32) == "float32");
  CHECK(element_size(kFloat64) == 8);
  CHECK(element_size(kInt32) == 4);
  CHECK(to_string(Device::cuda(1)) == "cuda:1");
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::parse("cuda:0") == Device::cuda(0));
  CHECK(Device::parse("cuda") == Device::cuda(0));
  CHECK_ERROR(Device::parse("gpu"), "Device: expected \"cpu\" or \"cuda:N\", found \"gpu\"");
  CHECK_ERROR(Device::parse("cuda:x"), "found \"cuda:x\"");
}

TEST_CASE("cuda::device_count never throws and says 0 without a GPU") {
  int count = -1;
  CHECK_NOTHROW(count = cuda::device_count());
  CHECK(count >= 0);
  CHECK(cuda::is_built() == static_cast<bool>(MINIDL_EXPECT_CUDA));
  if (!cuda::is_built()) CHECK(count == 0);
  CHECK(cuda::is_available() == (count > 0));
}

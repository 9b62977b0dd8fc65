// Printing matches PyTorch's repr (strings taken from torch 1.13; "dtype=torch.float64" is
// "dtype=float64" here).
#include <sstream>

#include "helpers.h"

using namespace minidl;

namespace {
std::string str(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}
}  // namespace

TEST_CASE("tensors print like PyTorch") {
  CHECK(str(from_vector<float>({1, 2, 3})) == "tensor([1., 2., 3.])");
  CHECK(str(from_vector<float>({1.5f, 2, 3, 4}, {2, 2})) == "tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]])");
  CHECK(str(from_vector<double>({1.5, 2, 3, 4}, {2, 2})) ==
        "tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]], dtype=float64)");
  CHECK(str(from_vector<float>({1e-5f, 1})) == "tensor([1.0000e-05, 1.0000e+00])");
  CHECK(str(from_vector<int64_t>({1, 2, 3})) == "tensor([1, 2, 3])");
  CHECK(str(from_vector<int32_t>({1, 2, 3})) == "tensor([1, 2, 3], dtype=int32)");
  CHECK(str(scalar_tensor(3.5)) == "tensor(3.5000)");
  CHECK(str(from_vector<float>({-1.5f, 100.25f})) == "tensor([ -1.5000, 100.2500])");
  CHECK(str(from_vector<float>({NAN, 1.5f})) == "tensor([   nan, 1.5000])");
  CHECK(str(zeros({0})) == "tensor([])");
  CHECK(str(zeros({2, 0})) == "tensor([], size=(2, 0))");
  CHECK(str(Tensor()) == "tensor(undefined)");
}

TEST_CASE("higher ranks and long tensors print like PyTorch") {
  CHECK(str(arange(24).reshape({2, 3, 4})) ==
        "tensor([[[ 0.,  1.,  2.,  3.],\n"
        "         [ 4.,  5.,  6.,  7.],\n"
        "         [ 8.,  9., 10., 11.]],\n"
        "\n"
        "        [[12., 13., 14., 15.],\n"
        "         [16., 17., 18., 19.],\n"
        "         [20., 21., 22., 23.]]])");
  CHECK(str(arange(2000)) ==
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])");
}

// Bad input to the neural-network ops: each error names the op and shows what was expected
// and what was found.
#include "helpers.h"

using namespace minidl;

TEST_CASE("conv2d and linear reject mismatched shapes") {
  CHECK_ERROR(conv2d(zeros({2, 3, 8, 8}), zeros({4, 2, 3, 3})),
              "conv2d: input has 3 channels but the weight expects 2 (input [2, 3, 8, 8], weight [4, 2, 3, 3])");
  CHECK_ERROR(conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})), "conv2d: expected a 4-D input [N, C, H, W], found shape [3, 8, 8]");
  CHECK_ERROR(conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), zeros({5})), "conv2d: expected bias of shape [4], found [5]");
  CHECK_ERROR(conv2d(zeros({1, 3, 4, 4}), zeros({4, 3, 7, 7})), "conv2d: a 7x7 window with padding 0 does not fit a 4x4 input");
  CHECK_ERROR(conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), Tensor(), 0), "conv2d: expected kernel > 0, stride > 0");
  CHECK_ERROR(conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}, kFloat64)), "conv2d: weight has dtype float64, the input float32");
  CHECK_ERROR(linear(zeros({2, 5}), zeros({3, 4})), "linear: input has 5 features but the weight expects 4");
  CHECK_ERROR(Conv2d(3, 0, 3), "Conv2d: expected positive channels");
}

TEST_CASE("normalizations reject bad groups, shapes and batches") {
  CHECK_ERROR(group_norm(zeros({2, 12, 3, 3}), 5), "group_norm: 12 channels cannot be split into 5 groups (C % G must be 0; input [2, 12, 3, 3])");
  CHECK_ERROR(group_norm(zeros({12}), 3), "group_norm: expected an input [N, C, *], found [12]");
  CHECK_ERROR(group_norm(zeros({2, 4, 3}), 2, ones({3})), "group_norm: expected weight of shape [4], found [3]");
  CHECK_ERROR(batch_norm(zeros({1, 4, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true),
              "batch_norm: expected more than 1 value per channel when training, found input of shape [1, 4, 1, 1]");
  CHECK_ERROR(batch_norm(zeros({2, 4}), Tensor(), Tensor()), "batch_norm: eval mode needs running_mean and running_var");
  CHECK_ERROR(batch_norm(zeros({2, 4}), zeros({3}), ones({3}), Tensor(), Tensor(), true), "batch_norm: expected running_mean of shape [4], found [3]");
  CHECK_ERROR(BatchNorm2d(4)(zeros({2, 4})), "BatchNorm2d: expected a 4-D input [N, C, H, W], found [2, 4]");
}

TEST_CASE("pooling rejects windows that do not fit") {
  CHECK_ERROR(max_pool2d(zeros({1, 1, 4, 4}), 3, 1, 2), "max_pool2d: padding 2 must be at most half the kernel size 3");
  CHECK_ERROR(avg_pool2d(zeros({1, 1, 2, 2}), 5), "avg_pool2d: a 5x5 window with padding 0 does not fit a 2x2 input");
  CHECK_ERROR(max_pool2d(zeros({4, 4}), 2), "max_pool2d: expected a 4-D input [N, C, H, W], found shape [4, 4]");
  CHECK_ERROR(adaptive_avg_pool2d(zeros({1, 1, 4, 4}), 0, 1), "adaptive_avg_pool2d: expected an output size > 0, found 0x1");
}

TEST_CASE("cross_entropy rejects bad labels") {
  CHECK_ERROR(cross_entropy(zeros({3, 10}), from_vector<int64_t>({1, 10, 2})),
              "cross_entropy: label 10 of sample 1 is out of range for 10 classes (expected 0 <= label < 10)");
  CHECK_ERROR(cross_entropy(zeros({3, 10}), from_vector<int64_t>({1, -1, 2})), "label -1 of sample 1 is out of range");
  CHECK_ERROR(cross_entropy(zeros({3, 10}), from_vector<int64_t>({1, 2})), "cross_entropy: expected labels of shape [3] for logits [3, 10], found [2]");
  CHECK_ERROR(cross_entropy(zeros({3, 10}), zeros({3})), "cross_entropy: expected int64 (or int32) labels, found float32");
  CHECK_ERROR(cross_entropy(zeros({3, 10}), from_vector<int64_t>({1, 2, 3}), 1.5), "cross_entropy: expected label_smoothing in [0, 1], found 1.5");
  // int32 labels are accepted.
  CHECK(cross_entropy(zeros({2, 4}), from_vector<int32_t>({1, 3})).item<double>() == doctest::Approx(std::log(4.0)));
  CHECK_ERROR(log_softmax(zeros({3, 4}), 0), "log_softmax: only the last dim is supported, found dim 0 of a rank-2 tensor");
}

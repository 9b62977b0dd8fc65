// log_softmax and cross-entropy (with label smoothing) on every device, against plain loops,
// the float64 CPU op, PyTorch's fixtures and gradcheck.
#include "devices.h"
#include "fixtures.h"
#include "reference.h"

using namespace minidl;

namespace {
using In = const std::vector<Tensor>&;
}  // namespace

TEST_CASE_ON_DEVICES("log_softmax and cross_entropy equal plain loops") {
  Generator gen(1);
  const Tensor logits = randn({5, 7}, kFloat64, gen) * 4.0;
  const std::vector<double> lr = logits.to(target.dtype).to_vector<double>();
  test::check_close(log_softmax(target.put(logits)), from_vector(test::reference::log_softmax(lr, 5, 7), {5, 7}),
                    target.tolerance(), "log_softmax");
  const std::vector<int64_t> labels{0, 6, 3, 3, 1};
  for (double smoothing : {0.0, 0.1}) {
    CAPTURE(smoothing);
    const Tensor loss = cross_entropy(target.put(logits), from_vector(labels).to(target.device), smoothing);
    CHECK(std::abs(loss.item<double>() - test::reference::cross_entropy(lr, 5, 7, labels, smoothing)) < target.tolerance());
  }
}

TEST_CASE_ON_DEVICES("log_softmax and cross_entropy, forward and backward, equal the float64 CPU op") {
  Generator gen(11);
  const Tensor logits = randn({5, 7}, kFloat64, gen);
  test::check_against_cpu_float64(target, {logits}, [](In x) { return log_softmax(x[0]); }, target.tolerance());
  const Tensor labels = from_vector<int64_t>({0, 6, 3, 3, 1});
  for (double smoothing : {0.0, 0.1}) {
    CAPTURE(smoothing);
    test::check_against_cpu_float64(target, {logits}, [&](In x) { return cross_entropy(x[0], labels.to(x[0].device()), smoothing); },
                                    target.tolerance());
  }
  if (!target.device.is_cpu())
    CHECK_ERROR(cross_entropy(target.put(logits), labels), "cross_entropy: the labels are on cpu, the logits on cuda:0");
}

TEST_CASE_ON_DEVICES_WITH("log_softmax and cross_entropy match PyTorch", kFloat32) {
  const Tensor labels = test::fixture("layers", "labels").to(target.device);
  test::compare_with_torch("layers", "log_softmax", 1, [](In x) { return log_softmax(x[0], 1); }, target.device);
  test::compare_with_torch("layers", "cross_entropy", 1, [&](In x) { return cross_entropy(x[0], labels); }, target.device);
  test::compare_with_torch("layers", "cross_entropy_smooth", 1, [&](In x) { return cross_entropy(x[0], labels, 0.1); },
                           target.device);
}

TEST_CASE("gradcheck: log_softmax and cross_entropy") {
  Generator gen(23);
  test::check_gradcheck([](In in) { return log_softmax(in[0]); }, {randn({4, 6}, kFloat64, gen)});
  const Tensor labels = from_vector<int64_t>({0, 4, 2, 2, 1, 3});
  for (double smoothing : {0.0, 0.1}) {
    CAPTURE(smoothing);
    test::check_gradcheck([&](In in) { return cross_entropy(in[0], labels, smoothing); }, {randn({6, 5}, kFloat64, gen)});
  }
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

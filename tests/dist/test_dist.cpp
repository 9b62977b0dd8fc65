// Data-parallel training, checked against one process: run as 2 ranks (ctest's dist_2_ranks,
// `mpirun -np 2 minidl_dist_tests`). Each rank also trains the one-process reference itself on
// the whole batch, so the comparisons need no files. Comparisons use CHECK, never REQUIRE: a
// rank that stopped early would leave the other waiting in a collective.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <iostream>

#include "../../minidl.h"

using namespace minidl;

namespace {

dist::ProcessGroup* group = nullptr;

struct Step {
  Tensor x, y;  // the global batch
};

std::vector<Step> make_batches(int64_t n, int steps, DType dtype) {
  Generator gen(1234);
  std::vector<Step> out;
  for (int s = 0; s < steps; ++s) {
    Tensor x = randn({n, 3, 16, 16}, dtype, gen);
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (auto& l : labels) l = static_cast<int64_t>(gen.at(gen.advance(1)) % 10);
    out.push_back({x, from_vector(labels, {n})});
  }
  return out;
}

// float64 where the comparison is to be exact: in float32 a ReLU whose input is within
// rounding of 0 may switch on in one run and off in the other, and three steps later the two
// differ by ~1e-3 for that reason alone (seen with BN, whose normalization mixes the images).
std::shared_ptr<Module> model_with(NormKind norm, DType dtype, int64_t virtual_batch = 0) {
  manual_seed(7);
  ModelOptions o;
  o.arch = "resnet20";
  o.norm = norm;
  auto model = build_model(o);
  model->to(dtype);
  if (virtual_batch > 0) set_bn_virtual_batch_size(*model, virtual_batch);
  return model;
}

void sgd_steps(Module& model, const std::vector<Step>& steps, dist::DistributedDataParallel* ddp) {
  SGD opt(model.parameters(), SGDOptions{0.1, 0.9, 0, 5e-4, false});
  model.train();
  for (const Step& s : steps) {
    Tensor x = s.x, y = s.y;
    if (ddp != nullptr) {  // this rank's slice of the global batch
      const int64_t b = x.size(0) / group->size();
      x = narrow(x, 0, group->rank() * b, b);
      y = narrow(y, 0, group->rank() * b, b);
    }
    opt.zero_grad();
    Tensor loss = cross_entropy(ddp != nullptr ? ddp->forward(x) : model(x), y);
    loss.backward();
    if (ddp != nullptr) ddp->synchronize();
    opt.step();
  }
}

double max_difference(const NamedTensors& a, const NamedTensors& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<double> u = a[i].second.to_vector<double>(), v = b[i].second.to_vector<double>();
    for (size_t k = 0; k < u.size(); ++k) worst = std::max(worst, std::abs(u[k] - v[k]));
  }
  return worst;
}

// Trains `distributed` with DDP on this rank's half and `reference` on the whole batch.
double train_both(Module& distributed, Module& reference, dist::DdpOptions options = {}, int steps_count = 3) {
  const std::vector<Step> steps = make_batches(16, steps_count, distributed.parameters().front().dtype());
  dist::DistributedDataParallel ddp(distributed, *group, options);
  sgd_steps(distributed, steps, &ddp);
  sgd_steps(reference, steps, nullptr);
  return max_difference(distributed.named_parameters(), reference.named_parameters());
}

}  // namespace

TEST_CASE("collectives: all_reduce (sum, mean), broadcast, all_gather on every rank") {
  const int r = group->rank(), n = group->size();
  Tensor s = full({5}, r + 1.0, kFloat64);
  group->all_reduce(s).wait();
  CHECK(s.to_vector<double>()[4] == n * (n + 1) / 2.0);
  Tensor m = full({3}, r * 2.0);
  group->all_reduce(m, dist::ReduceOp::Mean).wait();
  CHECK(m.to_vector<double>()[0] == doctest::Approx(n - 1.0));
  Tensor i = full({2}, r == 0 ? 42.0 : -1.0, kInt64);
  group->broadcast(i, 0).wait();
  CHECK(i.to_vector<int64_t>()[1] == 42);
  Tensor out = zeros({n, 2}, kInt64);
  group->all_gather(full({2}, r * 10.0, kInt64), out).wait();
  for (int k = 0; k < n; ++k) CHECK(out.to_vector<int64_t>()[static_cast<size_t>(2 * k)] == 10 * k);
  CHECK_THROWS_WITH_AS(group->all_reduce(full({1}, 1.0, kInt64), dist::ReduceOp::Mean),
                       doctest::Contains("a mean needs a float tensor"), Error);
}

TEST_CASE("DDP: GroupNorm resnet20, 2 ranks x 8 images = 1 process x 16 after 2 (float32) / 3 (float64) steps") {
  REQUIRE(group->size() == 2);
  // float32 over two steps. Since the 32-channel 8x8 layers run Winograd F(4x4), the two runs part
  // at the third step by 1.0e-4 at once (6e-8 after one step, 1.2e-7 after two): the jump of a
  // ReLU input within rounding of 0 switching in one run only (model_with) — the convolutions'
  // values for 16 images and for each half of them are bitwise the same. float64 takes three.
  auto a = model_with(NormKind::GroupNorm, kFloat32), b = model_with(NormKind::GroupNorm, kFloat32);
  const double diff = train_both(*a, *b, {}, 2);
  MESSAGE("GN float32, one 25 MB bucket, overlapped, two steps: max |w_ddp - w_ref| = " << diff);
  CHECK(diff <= 1e-5);
  // Both trained: two steps moved the weights well away from where they started.
  CHECK(max_difference(a->named_parameters(), model_with(NormKind::GroupNorm, kFloat32)->named_parameters()) > 1e-3);
  auto c = model_with(NormKind::GroupNorm, kFloat64), d = model_with(NormKind::GroupNorm, kFloat64);
  const double diff64 = train_both(*c, *d);
  MESSAGE("GN float64: max |w_ddp - w_ref| = " << diff64);
  CHECK(diff64 <= 1e-10);
}

TEST_CASE("DDP: small buckets and no overlap give the same weights") {
  auto a = model_with(NormKind::GroupNorm, kFloat64), b = model_with(NormKind::GroupNorm, kFloat64);
  dist::DdpOptions options;
  options.bucket_cap_mb = 0.05;
  options.overlap = false;
  const double diff = train_both(*a, *b, options);
  MESSAGE("GN float64, 50 KB buckets, not overlapped: max |w_ddp - w_ref| = " << diff);
  CHECK(diff <= 1e-10);
}

TEST_CASE("SyncBatchNorm: 2 ranks x 8 images = BatchNorm2d on 16 (weights and running statistics)") {
  auto a = model_with(NormKind::BatchNorm, kFloat64), b = model_with(NormKind::BatchNorm, kFloat64);
  CHECK(dist::convert_sync_batchnorm(*a, *group) == 21);  // 19 in the blocks, 2 in the shortcuts
  const double diff = train_both(*a, *b);
  const double stats = max_difference(a->named_buffers(), b->named_buffers());
  MESSAGE("SyncBN float64: max |w - w_ref| = " << diff << ", max |running stat - ref| = " << stats);
  CHECK(diff <= 1e-10);
  CHECK(stats <= 1e-10);
}

TEST_CASE("local BatchNorm: 2 ranks x 8 images = per-worker statistics (virtual_batch_size 8) on 16") {
  auto a = model_with(NormKind::BatchNorm, kFloat64), b = model_with(NormKind::BatchNorm, kFloat64, 8);
  const double diff = train_both(*a, *b);
  MESSAGE("BN per rank vs virtual_batch_size 8, float64: max |w - w_ref| = " << diff);
  CHECK(diff <= 1e-10);
  // And it is not BN over the whole batch: the two settings train differently.
  auto c = model_with(NormKind::BatchNorm, kFloat64), d = model_with(NormKind::BatchNorm, kFloat64);
  CHECK(train_both(*c, *d) > 1e-4);
}

int main(int argc, char** argv) {
  std::unique_ptr<dist::ProcessGroup> owned = dist::init_process_group();
  group = owned.get();
  doctest::Context context(argc, argv);
  if (group->rank() != 0) context.setOption("minimal", true);
  const int failed = context.run() != 0 ? 1 : 0;
  // The job fails if any rank failed.
  Tensor flag = full({1}, failed, kInt64);
  group->all_reduce(flag).wait();
  const int64_t failures = flag.to_vector<int64_t>()[0];
  if (group->is_main()) std::cout << "minidl_dist_tests: " << group->size() << " ranks, " << failures << " failed" << std::endl;
  owned.reset();
  return failures == 0 ? 0 : 1;
}

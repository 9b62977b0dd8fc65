// The parts of data-parallel training that one process can check: the post-accumulate-grad
// hook DDP's buckets hang on, the loader's shards, SyncBatchNorm and DDP on a group of one
// (= BatchNorm2d and plain training), and their errors. Two ranks: tests/dist/test_dist.cpp.
#include "helpers.h"

using namespace minidl;

namespace {

void check_close(const Tensor& got, const Tensor& expected, double atol) {
  REQUIRE(got.shape() == expected.shape());
  const std::vector<double> a = got.to_vector<double>(), b = expected.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  CHECK(worst <= atol);
}

}  // namespace

TEST_CASE("post-accumulate-grad hook: once per backward, with the leaf's whole gradient") {
  Tensor x = from_vector<double>({1, 2, 3}, {3}).requires_grad_();
  Tensor unused = from_vector<double>({1}, {1}).requires_grad_();
  std::vector<std::vector<double>> seen;
  const int64_t handle = register_post_accumulate_grad_hook(x, [&](const Tensor& g) { seen.push_back(g.to_vector<double>()); });
  register_post_accumulate_grad_hook(unused, [&](const Tensor&) { FAIL("a leaf backward never reached ran its hook"); });
  sum(x * x + x).backward();  // x used three times: the hook sees 2x + 1, once
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<double>{3, 5, 7});
  sum(x * 2.0).backward();  // accumulates: 2x + 1 + 2
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<double>{5, 7, 9});
  remove_post_accumulate_grad_hook(x, handle);
  sum(x).backward();
  CHECK(seen.size() == 2);
  x.zero_grad();
  register_post_accumulate_grad_hook(x, [&](const Tensor& g) { seen.push_back(g.to_vector<double>()); });
  x.backward(from_vector<double>({1, 1, 1}, {3}));  // a leaf as the root
  CHECK(seen.back() == std::vector<double>{1, 1, 1});
  CHECK_ERROR(register_post_accumulate_grad_hook(x * 2.0, [](const Tensor&) {}),
              "register_post_accumulate_grad_hook: expected a leaf tensor that requires grad");
}

TEST_CASE("DataLoader::shard: the ranks' slices put together are the one-process batch, augmentations included") {
  ImageDataset data;
  data.name = "synthetic";
  data.channels = 1, data.height = 6, data.width = 6, data.num_classes = 10;
  for (int i = 0; i < 23; ++i) {
    data.labels.push_back(i % 10);
    for (int p = 0; p < 36; ++p) data.pixels.push_back(static_cast<uint8_t>((i * 37 + p * 11) % 256));
  }
  Transform t;
  t.random_crop = true, t.pad = 2, t.horizontal_flip = true;
  DataLoader whole(data, 8, true, false, t, 5);
  whole.start_epoch(1);
  for (int world : {2, 3}) {
    CAPTURE(world);
    std::vector<std::unique_ptr<DataLoader>> ranks;
    for (int r = 0; r < world; ++r) {
      ranks.push_back(std::make_unique<DataLoader>(data, 8, true, false, t, 5));
      ranks.back()->shard(r, world);
      ranks.back()->start_epoch(1);
    }
    int64_t local_sum = 0;
    for (auto& loader : ranks) local_sum += loader->local_batch_size();
    CHECK(local_sum == 8);
    whole.start_epoch(1);
    Batch full;
    while (whole.next(full)) {  // 8, 8, then 7 images
      std::vector<float> images;
      std::vector<int64_t> labels;
      for (auto& loader : ranks) {
        Batch part;
        REQUIRE(loader->next(part));
        CHECK(part.global_size == full.labels.numel());
        for (float v : part.images.to_vector<float>()) images.push_back(v);
        for (int64_t l : part.labels.to_vector<int64_t>()) labels.push_back(l);
      }
      CHECK(images == full.images.to_vector<float>());
      CHECK(full.global_size == full.labels.numel());
      CHECK(labels == full.labels.to_vector<int64_t>());
    }
  }
  CHECK_ERROR(whole.shard(2, 2), "DataLoader::shard: expected 0 <= rank < world, found rank 2 of 2");
  CHECK_ERROR(whole.shard(0, 9), "DataLoader::shard: a batch of 8 images cannot feed 9 ranks");
}

TEST_CASE("SyncBatchNorm on a group of one is BatchNorm2d: output, gradients, running statistics; gradcheck") {
  dist::ProcessGroup one;
  Generator gen(3);
  const Tensor x = randn({4, 3, 5, 5}, kFloat64, gen) * 2.0 + 1.0;
  BatchNorm2d bn(3);
  dist::SyncBatchNorm sync(3, one);
  bn.to(kFloat64);
  sync.to(kFloat64);
  const Tensor w = randn({3}, kFloat64, gen), b = randn({3}, kFloat64, gen);
  for (Module* m : {static_cast<Module*>(&bn), static_cast<Module*>(&sync)}) m->load_state_dict({{"weight", w}, {"bias", b}}, false);
  const Tensor xa = x.detach().clone().requires_grad_(), xb = x.detach().clone().requires_grad_();
  const Tensor g = randn({4, 3, 5, 5}, kFloat64, gen);
  Tensor ya = bn(xa), yb = sync(xb);
  sum(ya * g).backward();
  sum(yb * g).backward();
  check_close(yb, ya, 1e-12);
  check_close(xb.grad(), xa.grad(), 1e-12);
  check_close(sync.weight.grad(), bn.weight.grad(), 1e-12);
  check_close(sync.bias.grad(), bn.bias.grad(), 1e-12);
  check_close(sync.running_mean, bn.running_mean, 1e-12);
  check_close(sync.running_var, bn.running_var, 1e-12);
  CHECK(sync.num_batches_tracked.item<int64_t>() == 1);
  sync.eval();
  bn.eval();
  check_close(sync(x), bn(x), 1e-12);
  dist::SyncBatchNorm fresh(3, one);
  test::check_layer_gradcheck(fresh, x);
  CHECK_ERROR(fresh(randn({1, 3, 1, 1}, kFloat64, gen)), "SyncBatchNorm: expected more than 1 value per channel");
}

TEST_CASE("convert_sync_batchnorm keeps names and values; DDP on a group of one leaves the gradients as they are") {
  dist::ProcessGroup one;
  ModelOptions o;
  o.in_channels = 1;
  manual_seed(1);
  auto model = build_model(o);
  manual_seed(1);
  auto plain = build_model(o);
  const NamedTensors before = model->state_dict();
  CHECK(dist::convert_sync_batchnorm(*model, one) == 21);
  CHECK(dist::convert_sync_batchnorm(*model, one) == 0);  // already converted
  const NamedTensors after = model->state_dict();
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < after.size(); ++i) CHECK(after[i].first == before[i].first);
  CHECK(model->child("bn1").type_name() == "SyncBatchNorm");

  dist::DdpOptions options;
  options.bucket_cap_mb = 0.01;  // 10 KB: many buckets
  dist::DistributedDataParallel ddp(*plain, one, options);
  CHECK(ddp.bucket_count() > 10);
  Generator gen(2);
  const Tensor x = randn({4, 1, 12, 12}, kFloat32, gen);
  const Tensor y = from_vector<int64_t>({1, 2, 3, 4}, {4});
  cross_entropy(ddp.forward(x), y).backward();
  std::vector<std::vector<float>> grads;
  for (const Tensor& p : plain->parameters()) grads.push_back(p.grad().to_vector<float>());
  ddp.synchronize();
  size_t i = 0;
  for (const Tensor& p : plain->parameters()) CHECK(p.grad().to_vector<float>() == grads[i++]);
  CHECK(ddp.last_stats().buckets == ddp.bucket_count());
  // Two backward passes before one synchronize() would mix two steps' gradients: refused.
  cross_entropy(ddp.forward(x), y).backward();
  CHECK_ERROR(cross_entropy(plain->forward(x), y).backward(), "a second backward reached a parameter before synchronize()");
}

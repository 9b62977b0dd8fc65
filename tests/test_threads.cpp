// The code that runs on more than one thread: the loader's prefetch thread, stopped wherever its
// consumer stops, and the OpenMP kernels, whose results with 2 threads must equal those with 1;
// and the thread count that adapts to the machine's load (core/threads.h); and how the kernels'
// loops over samples share them out (SampleShares).
// Under ThreadSanitizer (make test-tsan) these cases are the ones that give it something to check.
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "devices.h"

// core/cpu/parallel.h is compiled into each CPU path's namespace (core/cpu/capability.h); this
// file's copy of it gets a namespace of its own, built with the tests' flags.
#define MINIDL_CPU_CAPABILITY tests_copy
#define MINIDL_CPU_CAPABILITY_ENUM Generic
#include <minidl/core/cpu/parallel.h>

using namespace minidl;

namespace {

/// Sets the OpenMP thread count for one scope, and holds it there: the count does not adapt to
/// the machine's load meanwhile (a busy test machine would otherwise turn a 2-thread run into a
/// 1-thread one, and the comparisons below into 1 against 1).
struct Threads {
  int before = omp_get_max_threads();
  bool adaptive = adaptive_threads();
  explicit Threads(int n) {
    set_adaptive_threads(false);
    omp_set_num_threads(n);
  }
  ~Threads() {
    omp_set_num_threads(before);
    set_adaptive_threads(adaptive);
  }
};

ImageDataset small_images(int64_t n) {
  ImageDataset d;
  d.channels = 1;
  d.height = d.width = 6;
  d.num_classes = 3;
  d.pixels.resize(static_cast<size_t>(n * 36));
  for (size_t i = 0; i < d.pixels.size(); ++i) d.pixels[i] = static_cast<uint8_t>(i * 7);
  for (int64_t i = 0; i < n; ++i) d.labels.push_back(i % 3);
  return d;
}

/// The labels of the first `take` batches of `epoch` (all batches when take < 0).
std::vector<int64_t> labels_of(DataLoader& loader, int64_t epoch, int64_t take) {
  loader.start_epoch(epoch);
  std::vector<int64_t> labels;
  Batch b;
  for (int64_t i = 0; (take < 0 || i < take) && loader.next(b); ++i)
    for (int64_t l : b.labels.to_vector<int64_t>()) labels.push_back(l);
  return labels;
}

}  // namespace

TEST_CASE("the loader's prefetch thread stops cleanly wherever the consumer stops, at any prefetch depth") {
  const ImageDataset d = small_images(90);
  Transform t;
  t.random_crop = true;
  t.pad = 1;
  t.horizontal_flip = true;
  DataLoader reference(d, 8, true, false, t, 5, 1);
  const std::vector<int64_t> whole = labels_of(reference, 0, -1), next = labels_of(reference, 1, -1);
  for (int prefetch : {1, 2, 4}) {
    CAPTURE(prefetch);
    for (int64_t take : {0, 1, 3, 11, 12}) {
      CAPTURE(take);
      {  // destroyed mid-epoch, with the producer waiting or still working
        DataLoader loader(d, 8, true, false, t, 5, prefetch);
        const std::vector<int64_t> part = labels_of(loader, 0, take);
        CHECK(std::equal(part.begin(), part.end(), whole.begin()));
      }
      {  // restarted mid-epoch: the new epoch is whole and the same as from a fresh loader
        DataLoader loader(d, 8, true, false, t, 5, prefetch);
        labels_of(loader, 0, take);
        CHECK(labels_of(loader, 1, -1) == next);
      }
    }
  }
}

TEST_CASE("the OpenMP kernels give the same values and gradients on 2 threads as on 1") {
  // Sizes above kParallelGrain (2^15 elements) and, for the full-size activations, stream_grain()
  // (2^15, or 2^20 with passive waiting: elementwise ops), so that the kernels take their parallel
  // paths (with passive waiting the pools' sum, a quarter of that size, stays on one thread).
  Generator gen(3);
  const Tensor x = randn({4, 16, 132, 132}, kFloat64, gen), w = randn({16, 16, 3, 3}, kFloat64, gen) * 0.1;
  const Tensor gamma = randn({16}, kFloat64, gen), beta = randn({16}, kFloat64, gen);
  const Tensor fc = randn({10, 16}, kFloat64, gen);
  const Tensor labels = from_vector<int64_t>({1, 4, 9, 0}, {4});
  auto run = [&](int threads) {
    Threads scope(threads);
    std::vector<Tensor> leaves = {x.detach().requires_grad_(), w.detach().requires_grad_(),
                                  gamma.detach().requires_grad_(), beta.detach().requires_grad_(),
                                  fc.detach().requires_grad_()};
    Tensor h = conv2d(leaves[0], leaves[1], Tensor(), 1, 1);
    h = relu(group_norm(h, 4, leaves[2], leaves[3]));
    h = batch_norm(h, Tensor(), Tensor(), leaves[2], leaves[3], /*training=*/true);
    h = max_pool2d(h, 2) + avg_pool2d(h, 2);
    const Tensor pooled = flatten(adaptive_avg_pool2d(h));
    const Tensor loss = cross_entropy(linear(pooled, leaves[4]), labels) + mean(max(h, {1})) * 0.1 + sum(h) * 1e-4;
    loss.backward();
    std::vector<Tensor> out = {loss.detach(), h.detach()};
    for (const Tensor& leaf : leaves) out.push_back(leaf.grad());
    return out;
  };
  const std::vector<Tensor> one = run(1), two = run(2);
  const char* names[] = {"loss", "activations", "dx", "dweight", "dgamma", "dbeta", "dfc"};
  for (size_t i = 0; i < one.size(); ++i) test::check_close(two[i], one[i], 1e-12, names[i]);
}

TEST_CASE("3 training steps of resnet20 give bitwise-identical weights with 1 and 2 threads, on every CPU path") {
  // Float32, where any change in the order of a sum shows: the kernels' sums over the batch (the
  // convolutions' weight gradients above all) are cut into ranges fixed whatever the thread count.
  Generator gen(5);
  const Tensor images = randn({8, 3, 32, 32}, kFloat32, gen);
  const Tensor labels = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7});
  auto train = [&](NormKind norm, int threads) {
    Threads scope(threads);
    ModelOptions options;
    options.norm = norm;
    manual_seed(3);
    std::shared_ptr<Module> model = build_model(options);
    SGDOptions o;
    o.lr = 0.1;
    o.momentum = 0.9;
    o.weight_decay = 5e-4;
    SGD opt(model->parameters(), o);
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      cross_entropy((*model)(images), labels).backward();
      opt.step();
    }
    return model->state_dict();
  };
  test::for_each_cpu_path([&] {
    for (NormKind norm : {NormKind::BatchNorm, NormKind::GroupNorm}) {
      CAPTURE(static_cast<int>(norm));
      const NamedTensors one = train(norm, 1), two = train(norm, 2);
      REQUIRE(one.size() == two.size());
      size_t differing = 0;
      for (size_t i = 0; i < one.size(); ++i) {
        const Tensor& a = one[i].second;
        const Tensor& b = two[i].second;
        const bool same = a.numel() == b.numel() &&
                          std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
        if (!same) MESSAGE("differs: " << one[i].first);
        differing += !same;
      }
      CHECK(differing == 0);
    }
  });
}

TEST_CASE("Winograd's weight gradient, summed over several chunks of samples, is bitwise the same on 1 and 2 threads") {
  // F(4x4) forced: 64 tiles a sample at 30x30, so 2 samples a chunk and 10 chunks for 19 samples
  // (the last one short), cut into the 8 fixed ranges a thread takes whole; some ranges sum 2 chunks.
  Generator gen(11);
  const Tensor x = randn({19, 8, 30, 30}, kFloat32, gen), w = randn({8, 8, 3, 3}, kFloat32, gen);
  const Tensor dy = randn({19, 8, 30, 30}, kFloat32, gen);
  auto grad = [&](int threads) {
    Threads scope(threads);
    set_cpu_conv_algorithm(ConvAlgorithm::Winograd4);
    Tensor wt = w.detach().requires_grad_();
    conv2d(x, wt, Tensor(), 1, 1).backward(dy);
    set_cpu_conv_algorithm(ConvAlgorithm::Auto);
    return wt.grad();
  };
  test::for_each_cpu_path([&] {
    const Tensor one = grad(1), two = grad(2);
    CHECK(std::memcmp(one.raw_data(), two.raw_data(), one.nbytes()) == 0);
  });
}

TEST_CASE("SampleShares gives every iteration to exactly one thread, whatever the team and share counts") {
  using minidl::cpu::SampleShares;
  for (const int64_t n : {0, 1, 2, 3, 7, 32, 33})
    for (const int shares : {1, 2, 3, 4})
      for (const int team : {1, 2, 3}) {
        CAPTURE(n);
        CAPTURE(shares);
        CAPTURE(team);
        std::vector<std::atomic<int>> taken(static_cast<size_t>(n));
        SampleShares work(n, shares);
#pragma omp parallel num_threads(team)
        work.run([&](int64_t i) { taken[static_cast<size_t>(i)]++; });
        int64_t once = 0;
        for (const auto& t : taken) once += t == 1;
        CHECK(once == n);
      }
}

TEST_CASE("SampleShares shares out more than 2^31 iterations in blocks, each once") {
  // A share's bounds are 32 bits: from 2^31 iterations on, the items shared out are blocks of them
  // (here 2^32 + 3 iterations, which would overflow the bounds, in blocks of 3). Count
  // what each thread's body sees without storing 2^32 flags: their sum and their number.
  using minidl::cpu::SampleShares;
  const int64_t n = (int64_t{1} << 32) + 3;
  std::atomic<int64_t> calls{0};
  std::atomic<uint64_t> sum{0};
  SampleShares work(n, 2);
#pragma omp parallel num_threads(2)
  {
    int64_t c = 0;
    uint64_t s = 0;
    work.run([&](int64_t i) { ++c, s += static_cast<uint64_t>(i); });
    calls += c;
    sum += s;
  }
  CHECK(calls == n);
  CHECK(sum == static_cast<uint64_t>(n) * static_cast<uint64_t>((n - 1) / 2));  // n odd: 0 + 1 + ... + n − 1
}

TEST_CASE("SampleShares: a thread takes its own share in order, then the rest of the others' from their back") {
  using minidl::cpu::SampleShares;
  // One thread, two shares of 10 iterations: its own [0, 5), then [5, 10) from the back.
  std::vector<int64_t> order;
  SampleShares alone(10, 2);
  alone.run([&](int64_t i) { order.push_back(i); });
  CHECK(order == std::vector<int64_t>{0, 1, 2, 3, 4, 9, 8, 7, 6, 5});
  // Two threads, the second held back until the first is done (a descheduled thread): the first
  // takes the second's share too, and the second finds nothing left.
  std::vector<int64_t> first, second;
  std::atomic<bool> done{false};
  int team = 0;
  SampleShares work(10, 2);
#pragma omp parallel num_threads(2)
  {
    if (omp_get_thread_num() == 0) {
      team = omp_get_num_threads();
      work.run([&](int64_t i) { first.push_back(i); });
      done = true;
    } else {
      while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      work.run([&](int64_t i) { second.push_back(i); });
    }
  }
  REQUIRE(team == 2);
  CHECK(first == std::vector<int64_t>{0, 1, 2, 3, 4, 9, 8, 7, 6, 5});
  CHECK(second.empty());
}

TEST_CASE("the thread count for a load: the free CPUs, rounded down after adding 0.4, from 1 to the user's count") {
  CHECK(threads_for_load(2, 0.0, 2) == 2);
  CHECK(threads_for_load(2, 0.35, 2) == 2);  // a little background load
  CHECK(threads_for_load(2, 0.67, 2) == 1);  // one busy process sharing both CPUs with our two threads
  CHECK(threads_for_load(2, 1.0, 2) == 1);   // ... or a CPU of its own beside our one thread
  CHECK(threads_for_load(2, 2.0, 2) == 1);   // never fewer than 1
  CHECK(threads_for_load(2, -0.1, 2) == 2);  // below 0: clock granularity, none
  CHECK(threads_for_load(8, 2.0, 8) == 6);
  CHECK(threads_for_load(8, 0.0, 4) == 4);   // never more than the user asked for
  CHECK(threads_for_load(1, 0.0, 4) == 1);
}

TEST_CASE("the adaptive count never exceeds the user's, follows a count the user sets, and gives it back when off") {
  const int before = omp_get_max_threads();
  const bool adaptive = adaptive_threads();
  set_adaptive_threads(true);
  const Tensor x = randn({2, 4, 8, 8});
  auto kernels_for = [&](double seconds) {  // kernel calls over several of the 0.1 s windows
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      (void)relu(x);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  set_num_threads(1);  // the user's count: 1, whatever the load
  kernels_for(0.35);
  CHECK(omp_get_max_threads() == 1);
  CHECK_ERROR(set_num_threads(0), "set_num_threads: expected a count of at least 1, got 0");
  omp_set_num_threads(2);  // the user's new count, set through OpenMP: 2 at most
  kernels_for(0.35);
  const int adapted = omp_get_max_threads();
  CHECK(adapted >= 1);
  CHECK(adapted <= 2);
  set_adaptive_threads(false);  // off: back to the user's 2
  CHECK(omp_get_max_threads() == 2);
  kernels_for(0.25);
  CHECK(omp_get_max_threads() == 2);
  omp_set_num_threads(before);
  set_adaptive_threads(adaptive);
}

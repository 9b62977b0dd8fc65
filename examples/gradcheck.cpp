// gradcheck: checks a whole model's gradients layer by layer in float64, or compares its
// gradients with a dump made elsewhere (PyTorch, another build).
//   build/bin/gradcheck --arch resnet20 --norm gn
//   build/bin/gradcheck --arch resnet20 --checkpoint m.safetensors --input x.npy --labels y.npy --reference torch.safetensors
#include <algorithm>
#include <cstdio>

#include "model_cli.h"

using namespace minidl;
using namespace minidl::examples;

namespace {

// Compares one training step's gradients with a dump (grads' format: each parameter's gradient
// under its own name); returns the number of parameters out of tolerance.
int compare_with_reference(Module& model, const std::string& reference, const std::string& input, const std::string& labels,
                           double tolerance) {
  model.train();
  const Tensor logits = model(load_npy(input));
  const Tensor loss = cross_entropy(logits, load_npy(labels));
  loss.backward();
  const SafetensorsFile ref = load_safetensors(reference);
  std::map<std::string, Tensor> by_name(ref.tensors.begin(), ref.tensors.end());
  int failures = 0;
  std::printf("%-40s %12s %12s  %s\n", "parameter", "max abs", "max rel", "");
  for (const auto& [name, p] : model.named_parameters()) {
    auto it = by_name.find(name);
    if (it == by_name.end() || it->second.shape() != p.shape()) {
      std::printf("%-40s %12s %12s  MISSING in %s\n", name.c_str(), "-", "-", reference.c_str());
      ++failures;
      continue;
    }
    const std::vector<double> a = p.grad().to_vector<double>(), b = it->second.to_vector<double>();
    double abs_err = 0, scale = 1e-30;
    for (size_t i = 0; i < a.size(); ++i) {
      abs_err = std::max(abs_err, std::abs(a[i] - b[i]));
      scale = std::max(scale, std::abs(b[i]));
    }
    const bool ok = abs_err / scale <= tolerance;
    failures += !ok;
    std::printf("%-40s %12.3g %12.3g  %s\n", name.c_str(), abs_err, abs_err / scale, ok ? "ok" : "FAILED");
  }
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"Checks a model's gradients layer by layer: each module, on the input it receives in a forward pass of a "
               "random float64 batch, against central differences with respect to that input and the module's "
               "parameters. Prints a table and exits non-zero naming the first failing layer. With --reference, "
               "compares one training step's gradients with a dump (e.g. from PyTorch) parameter by parameter instead."};
  ModelFlags flags;
  flags.add_to(app, /*with_shape=*/true);
  int64_t batch = 8, size = 16, max_elements = 32, seed = 0;
  std::string checkpoint, reference, input, labels, device_name = "cpu";
  double tolerance = 1e-4;
  LayerCheckOptions options;
  // Batch statistics over 2 samples make deep BatchNorm models so kinked that central differences
  // of the whole model converge only at steps near 1e-9 (preresnet164); 8 samples are enough.
  flags::add(app, "--batch", batch, "batch of the random input", flags::positive);
  flags::add(app, "--size", size, "height and width of the random input", flags::positive);
  flags::add(app, "--max-elements", max_elements, "elements checked per tensor (0: all)", flags::non_negative);
  flags::add(app, "--eps", options.eps, "central-difference step", flags::positive_finite);
  app.add_option("--seed", seed, "seed of the weights and the input")->capture_default_str();
  app.add_option("--checkpoint", checkpoint, "model to check (its metadata gives arch, norm and shape; default: fresh weights)")
      ->check(flags::existing_file);
  app.add_option("--reference", reference, "gradient dump (safetensors) to compare with, as written by build/bin/grads")
      ->check(flags::existing_file);
  app.add_option("--input", input, "with --reference: the input batch (.npy)")->check(flags::existing_file);
  app.add_option("--labels", labels, "with --reference: the labels (.npy)")->check(flags::existing_file);
  flags::add(app, "--tolerance", tolerance,
             "with --reference or --device cuda: allowed error per tensor, relative to its largest value",
             flags::positive_finite);
  add_device_option(app, device_name);
  MINIDL_PARSE_FLAGS(app, argc, argv, "gradcheck");
  return run_program("gradcheck", [&] {
    const Device device = parse_device(device_name);
    manual_seed(static_cast<uint64_t>(seed));
    MINIDL_CHECK(reference.empty() || (!input.empty() && !labels.empty()), "--reference needs --input and --labels");
    std::shared_ptr<Module> model = load_model(flags, checkpoint).model;
    if (!reference.empty()) {
      const int failures = compare_with_reference(*model, reference, input, labels, tolerance);
      std::printf("%s\n", failures ? "gradients differ from the reference" : "all gradients match the reference");
      return failures ? 1 : 0;
    }
    options.max_elements = max_elements;
    const Tensor x = randn({batch, flags.in_channels, size, size}, kFloat64);
    // On a GPU: its float32 gradients against the CPU's float64 ones, layer by layer.
    // Each row as soon as it is checked, numbered: the whole run takes a while on a big model.
    std::printf("%-9s %-28s %-18s %12s %12s  %-16s %s\n", "", "layer", "type", "max abs", "max rel", "worst", "");
    std::fflush(stdout);
    auto print_row = [](const LayerCheck& r, size_t done, size_t total) {
      const std::string count = "[" + std::to_string(done) + "/" + std::to_string(total) + "]";
      std::printf("%-9s %-28s %-18s %12.3g %12.3g  %-16s %s\n", count.c_str(), r.name.c_str(), r.type.c_str(), r.max_abs_error,
                  r.max_rel_error, r.worst.c_str(), r.ok ? "ok" : "FAILED");
      std::fflush(stdout);
    };
    options.on_row = print_row;
    std::vector<LayerCheck> rows;
    if (device.is_cpu()) {
      rows = check_layers(*model, x, options);
    } else {
      rows = compare_layers_on_device(*model, x, device, tolerance);
      for (size_t i = 0; i < rows.size(); ++i) print_row(rows[i], i + 1, rows.size());
    }
    const LayerCheck* first_failure = nullptr;
    for (const LayerCheck& r : rows)
      if (!r.ok && !first_failure) first_failure = &r;
    if (first_failure) {
      std::printf("FAILED: first failing layer %s (%s)\n", first_failure->name.c_str(), first_failure->type.c_str());
      return 1;
    }
    std::printf("all %zu modules pass\n", rows.size());
    return 0;
  }, /*error_code=*/2);
}

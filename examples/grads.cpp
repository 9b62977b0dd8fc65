// grads: one training-mode forward, mean cross-entropy and backward; dumps every parameter's
// gradient under the parameter's own name, plus "logits" and "loss", as safetensors — to compare
// with the same step in PyTorch (or with examples/gradcheck --reference).
//   build/bin/grads --arch resnet20 --checkpoint m.safetensors --input x.npy --labels y.npy --dump g.safetensors
#include <cstdio>

#include "model_cli.h"

using namespace minidl;
using namespace minidl::examples;

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"One training step's gradients (forward in training mode, mean cross-entropy, backward) written as "
               "safetensors: each parameter's gradient under its own name, plus 'logits' and 'loss'."};
  ModelFlags flags;
  flags.add_to(app, /*with_shape=*/true);
  std::string checkpoint, input, labels_path, dump, device_name = "cpu";
  app.add_option("--checkpoint", checkpoint, "model (safetensors; its metadata gives arch, norm and shape); default: "
                                             "freshly initialized weights of the flags' model")
      ->check(flags::existing_file);
  app.add_option("--input", input, "input batch as the model sees it (already normalized), float32 [N, C, H, W] .npy")
      ->required()
      ->check(flags::existing_file);
  app.add_option("--labels", labels_path, "labels [N], int64 or int32 .npy")->required()->check(flags::existing_file);
  app.add_option("--dump", dump, "output safetensors file")->required()->check(flags::writable_path);
  add_device_option(app, device_name);
  MINIDL_PARSE_FLAGS(app, argc, argv, "grads");
  return run_program("grads", [&] {
    const Device device = parse_device(device_name);
    std::shared_ptr<Module> model = load_model(flags, checkpoint, device).model;
    model->train();
    const Tensor x = load_input_batch(input, flags.in_channels), labels = load_npy(labels_path);
    const Tensor logits = (*model)(x.to(device));
    Tensor loss;
    try {
      loss = cross_entropy(logits, labels.to(device));
    } catch (const Error& e) {
      MINIDL_FAIL(labels_path, ": ", e.what());
    }
    loss.backward();
    NamedTensors out;
    for (const auto& [name, p] : model->named_parameters()) out.emplace_back(name, p.grad());
    out.emplace_back("logits", logits.detach());
    out.emplace_back("loss", loss.detach());
    save_safetensors(dump, out, flags.card().metadata());
    std::printf("%s: loss %.6f, %zu gradients written to %s\n", flags.arch.c_str(), loss.item<double>(), out.size() - 2,
                dump.c_str());
    return 0;
  });
}

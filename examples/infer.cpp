// infer: logits of a model checkpoint for an NCHW float32 batch stored as .npy.
//   build/bin/infer --arch resnet20 --norm gn --checkpoint run.safetensors --input x.npy --output logits.npy
#include <cstdio>

#include "model_cli.h"

using namespace minidl;
using namespace minidl::examples;

int main(int argc, char** argv) {
  CLI::App app{"Runs a model checkpoint (safetensors state dict) on an NCHW float32 .npy batch and writes the logits "
               "[N, classes] as .npy. Eval mode (running BatchNorm statistics) unless --train-mode."};
  ModelFlags flags;
  flags.add_to(app, /*with_shape=*/true);
  std::string checkpoint, input, output, device_name = "cpu";
  bool train_mode = false;
  app.add_option("--checkpoint", checkpoint, "model state dict (safetensors)")->required();
  app.add_option("--input", input, "input batch, float32 [N, C, H, W] .npy")->required();
  app.add_option("--output", output, "where to write the logits (.npy)")->required();
  app.add_flag("--train-mode", train_mode, "normalize with batch statistics (BatchNorm in training mode)");
  add_device_option(app, device_name);
  CLI11_PARSE(app, argc, argv);
  return run_program("infer", [&] {
    const Device device = parse_device(device_name);
    std::shared_ptr<Module> model = load_model(flags, checkpoint, device);
    model->train(train_mode);
    const Tensor x = load_input_batch(input, flags.in_channels);
    NoGradGuard no_grad;
    const Tensor logits = (*model)(x.to(device));
    save_npy(output, logits);
    std::printf("%s: logits %s written to %s\n", flags.arch.c_str(), to_string(logits.shape()).c_str(), output.c_str());
    return 0;
  });
}

// infer: a checkpoint's predictions for images — PNG/JPEG files, a folder of them, or a .npy batch
// of raw pixels — normalized with the statistics the checkpoint records, printed as the top
// classes by name; the logits can be written as .npy.
//   build/bin/infer --checkpoint models/pretrained/resnet20_bn_fashion_mnist.safetensors --input shoe.png
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "model_cli.h"

using namespace minidl;
using namespace minidl::examples;
namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

/// The images of --input as float32 [N, C, H, W] in [0, 1] (raw) or as given (`normalized`),
/// with a name for each.
struct Inputs {
  Tensor x;
  std::vector<std::string> names;
  bool raw = true;  // pixels in [0, 1], to be normalized
};

Inputs read_images(const std::vector<fs::path>& files, const ModelCard& card, int64_t channels) {
  MINIDL_CHECK(card.image_size > 0, "--input: the checkpoint records no image_size to resize images to (a checkpoint "
                                    "written by an older train); pass a .npy batch instead");
  Inputs in;
  std::vector<float> pixels;
  for (const fs::path& f : files) {
    for (uint8_t v : load_image(f.string(), card.image_size, channels)) pixels.push_back(static_cast<float>(v) / 255.0f);
    in.names.push_back(f.filename().string());
  }
  const int64_t n = static_cast<int64_t>(files.size());
  in.x = from_vector(pixels, {n, channels, card.image_size, card.image_size});
  return in;
}

Inputs read_npy(const std::string& path, int64_t channels, bool no_normalize) {
  Tensor x = load_npy(path);
  if (x.dim() == 3 && channels == 1) x = x.reshape({x.size(0), 1, x.size(1), x.size(2)});  // [N, H, W] gray images
  MINIDL_CHECK(x.dim() == 4 && x.size(1) == channels, path, ": expected a batch [N, ", channels, ", H, W] (or [N, H, W] for ",
               "1 channel), found ", x.dtype(), " ", to_string(x.shape()));
  Inputs in;
  for (int64_t i = 0; i < x.size(0); ++i) in.names.push_back(path + "[" + std::to_string(i) + "]");
  if (x.dtype() == kInt32 || x.dtype() == kInt64) {  // uint8 pixels (load_npy widens them to int32)
    for (double v : x.to_vector<double>())
      MINIDL_CHECK(v >= 0 && v <= 255, path, ": expected integer pixels in 0..255, found ", v);
    in.x = x.to(kFloat32) / 255.0;
    return in;
  }
  MINIDL_CHECK(x.dtype() == kFloat32 || x.dtype() == kFloat64, path, ": expected uint8 pixels or floats, found ", x.dtype());
  in.x = x.to(kFloat32);
  in.raw = !no_normalize;
  if (in.raw) {
    for (float v : in.x.to_vector<float>())
      MINIDL_CHECK(std::isfinite(v) && v >= 0 && v <= 1, path, ": expected raw pixels in [0, 1], found ", v,
                   " (if the batch is already normalized, pass --no-normalize)");
  }
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"Runs a model checkpoint on images and prints the most likely classes. --input is a .png/.jpg file, a "
               "folder of them (resized and center-cropped to the checkpoint's image size), or a .npy batch of raw "
               "pixels: uint8 [N, C, H, W] (or [N, H, W]) or floats in [0, 1]. Pixels are normalized with the mean and "
               "std the checkpoint records (--no-normalize: a float .npy is used as it is). The model's arch, norm "
               "and shape come from the checkpoint; the flags may only agree with it. Eval mode (running BatchNorm "
               "statistics) unless --train-mode."};
  ModelFlags flags;
  flags.add_to(app, /*with_shape=*/true);
  std::string checkpoint, input, output, device_name = "cpu";
  bool train_mode = false, no_normalize = false;
  int64_t topk = 3;
  app.add_option("--checkpoint", checkpoint, "model (safetensors, as written by train)")->required()->check(flags::existing_file);
  app.add_option("--input", input, "an image file, a folder of images, or a .npy batch")->required()->check(CLI::ExistingPath);
  app.add_option("--output", output, "also write the logits [N, classes] as .npy here")->check(flags::writable_path);
  flags::add(app, "--topk", topk, "classes printed per image", flags::positive);
  app.add_flag("--no-normalize", no_normalize, "a float .npy input is already normalized: use it as it is");
  app.add_flag("--train-mode", train_mode, "normalize with batch statistics (BatchNorm in training mode)");
  add_device_option(app, device_name);
  MINIDL_PARSE_FLAGS(app, argc, argv, "infer");
  return run_program("infer", [&] {
    const Device device = parse_device(device_name);
    LoadedModel m = load_model(flags, checkpoint, device);
    m.model->train(train_mode);

    Inputs in;
    if (fs::is_directory(input)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(input))
        if (e.is_regular_file() && is_image(e.path())) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      MINIDL_CHECK(!files.empty(), "--input ", input, ": the folder holds no .png or .jpg file");
      in = read_images(files, m.card, flags.in_channels);
    } else if (is_image(input)) {
      in = read_images({fs::path(input)}, m.card, flags.in_channels);
    } else {
      in = read_npy(input, flags.in_channels, no_normalize);
    }
    Tensor x = in.x;
    if (in.raw) {
      MINIDL_CHECK(!m.card.mean.empty(), "--input: ", checkpoint, " records no input normalization (mean, std); "
                   "normalize the batch yourself and pass --no-normalize");
      const Shape per_channel = {1, flags.in_channels, 1, 1};
      x = (x - from_vector(m.card.mean, per_channel)) / from_vector(m.card.std, per_channel);
    }
    NoGradGuard no_grad;
    const Tensor logits = (*m.model)(x.to(device)).to(Device::cpu());
    if (!output.empty()) save_npy(output, logits);

    const Tensor probs = exp(log_softmax(logits));
    const int64_t k = std::min(topk, flags.num_classes);
    for (int64_t i = 0; i < logits.size(0); ++i) {
      std::vector<float> p(static_cast<size_t>(flags.num_classes));
      for (int64_t c = 0; c < flags.num_classes; ++c) p[static_cast<size_t>(c)] = probs.at<float>({i, c});
      std::vector<int64_t> order(p.size());
      for (size_t c = 0; c < order.size(); ++c) order[c] = static_cast<int64_t>(c);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
      std::printf("%s:", in.names[static_cast<size_t>(i)].c_str());
      for (int64_t j = 0; j < k; ++j) {
        const int64_t c = order[static_cast<size_t>(j)];
        const std::string name =
            m.card.class_names.empty() ? "class " + std::to_string(c) : m.card.class_names[static_cast<size_t>(c)];
        std::printf("%s %s %.1f%%", j ? "," : "", name.c_str(), 100 * p[static_cast<size_t>(c)]);
      }
      std::printf("\n");
    }
    if (!output.empty()) std::printf("logits %s written to %s\n", to_string(logits.shape()).c_str(), output.c_str());
    return 0;
  });
}

// The programs from the command line: train (two epochs on a slice of Fashion-MNIST, the loss
// falls; then resumed for a third), infer and grads on its checkpoint, and their errors.
#include <unistd.h>

#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include <stb/stb_image_write.h>  // implemented in test_data.cpp

#include "helpers.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {


// Runs a program from build/bin with arguments (and `env`, VAR=VALUE ...); returns its exit code,
// output in `log`.
int run(const std::string& args, const std::string& log, const std::string& env = "") {
  const std::string command = (env.empty() ? "" : "env " + env + " ") + std::string(MINIDL_BIN_DIR) + "/" + args +
                              " > " + log + " 2>&1";
  return WEXITSTATUS(std::system(command.c_str()));
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::vector<double>> csv_rows(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("train, resume, infer and grads work from the command line") {
  REQUIRE_FASHION_MNIST();
  test::TempDir dir("programs");
  const std::string ckpt = dir.file("m.safetensors"), log = dir.file("train.csv"), out = dir.file("out.txt");
  const std::string common = " --arch resnet20 --norm gn --batch 32 --limit-train 640 --limit-test 200 --lr 0.05 --threads 2"
                             " --save " + ckpt + " --log " + log;
  REQUIRE_MESSAGE(run("train --epochs 2 --schedule none" + common, out) == 0, slurp(out));
  std::vector<std::vector<double>> rows = csv_rows(log);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1][1] < rows[0][1]);  // training loss falls
  CHECK(slurp(out).find("epoch 2: train loss") != std::string::npos);
  CHECK(fs::exists(dir.file("m.train.safetensors")));

  test::write_bytes(ckpt + ".tmp.999999", "left by a killed writer");
  REQUIRE_MESSAGE(run("train --schedule none --epochs 3 --resume " + ckpt + common, out) == 0, slurp(out));
  CHECK(slurp(out).find("resumed from") != std::string::npos);
  rows = csv_rows(log);
  REQUIRE(rows.size() == 3);
  CHECK(rows[2][0] == 3);
  CHECK(!fs::exists(ckpt + ".tmp.999999"));  // stale temporaries go at the next write
  // A model without the training state of its epoch: an error, or with --resume-without-state a
  // new optimizer and a warning; the log keeps one row per epoch.
  fs::remove(dir.file("m.train.safetensors"));
  CHECK(run("train --schedule none --epochs 4 --resume " + ckpt + common, out) == 1);
  CHECK(slurp(out).find("--resume " + ckpt + ": no training state of its epoch 3 (no state file at all)") != std::string::npos);
  REQUIRE_MESSAGE(run("train --schedule none --epochs 4 --resume-without-state --resume " + ckpt + common, out) == 0, slurp(out));
  CHECK(slurp(out).find("has no training state of its epoch; a new optimizer") != std::string::npos);
  rows = csv_rows(log);
  REQUIRE(rows.size() == 4);
  CHECK(rows[3][0] == 4);

  save_npy(dir.file("x.npy"), randn({4, 1, 28, 28}));
  save_npy(dir.file("y.npy"), from_vector<int64_t>({0, 1, 2, 9}));
  const std::string model = " --arch resnet20 --norm gn --in-channels 1 --num-classes 10 --checkpoint " + ckpt;
  // The checkpoint describes itself: arch, norm, groups and shape, the input normalization, the
  // class names. Flags may only agree with it.
  const SafetensorsFile saved = load_safetensors(ckpt);
  CHECK(saved.metadata.at("arch") == "resnet20");
  CHECK(saved.metadata.at("groups") == "8");
  CHECK(saved.metadata.at("image_size") == "28");
  CHECK(saved.metadata.at("mean") == "[0.286]");
  CHECK(saved.metadata.at("class_names").find("\"Ankle boot\"") != std::string::npos);
  REQUIRE_MESSAGE(run("infer --no-normalize --checkpoint " + ckpt + " --input " + dir.file("x.npy") + " --output " +
                          dir.file("logits.npy"), out) == 0, slurp(out));
  CHECK(to_string(load_npy(dir.file("logits.npy")).shape()) == "[4, 10]");
  CHECK(run("infer --groups 4" + model + " --input " + dir.file("x.npy") + " --no-normalize", out) == 1);
  CHECK(slurp(out) == "infer: --groups 4 contradicts " + ckpt + ", whose model has groups 8\n");
  CHECK(run("infer --checkpoint " + ckpt + " --input " + dir.file("x.npy"), out) == 1);  // not raw pixels
  CHECK(slurp(out).find("x.npy: expected raw pixels in [0, 1], found -") != std::string::npos);
  CHECK(slurp(out).find("pass --no-normalize") != std::string::npos);
  REQUIRE_MESSAGE(run("grads" + model + " --input " + dir.file("x.npy") + " --labels " + dir.file("y.npy") + " --dump " +
                          dir.file("g.safetensors"), out) == 0, slurp(out));
  const SafetensorsFile g = load_safetensors(dir.file("g.safetensors"));
  CHECK(g.tensors.size() == 65 + 2);  // 65 parameters, logits, loss
  CHECK(g.tensors[0].first == "conv1.weight");
  CHECK(g.tensors.back().first == "loss");
  // The same step checked against that dump passes; against another model's dump it fails.
  const std::string ref = " --input " + dir.file("x.npy") + " --labels " + dir.file("y.npy") + " --reference ";
  REQUIRE_MESSAGE(run("gradcheck" + model + ref + dir.file("g.safetensors"), out) == 0, slurp(out));
  CHECK(slurp(out).find("all gradients match the reference") != std::string::npos);
  CHECK(run("gradcheck --arch resnet20 --norm gn --in-channels 1" + ref + dir.file("g.safetensors"), out) == 1);
  CHECK(slurp(out).find("FAILED") != std::string::npos);

  // Errors: one line naming the file and what is wrong.
  CHECK(run("infer --arch resnet32 --norm gn --in-channels 1 --checkpoint " + ckpt + " --input " + dir.file("x.npy") +
                " --output " + dir.file("o.npy"), out) == 1);
  CHECK(slurp(out) == "infer: --arch resnet32 contradicts " + ckpt + ", whose model has arch resnet20\n");
  save_npy(dir.file("bad_labels.npy"), from_vector<int64_t>({0, 1, 2, 12}));
  CHECK(run("grads" + model + " --input " + dir.file("x.npy") + " --labels " + dir.file("bad_labels.npy") + " --dump " +
                dir.file("g2.safetensors"), out) == 1);
  CHECK(slurp(out).find("bad_labels.npy: cross_entropy: label 12 of sample 3 is out of range for 10 classes") != std::string::npos);
  CHECK(run("train --data cifar10:" + dir.file("nowhere"), out) == 1);
  CHECK(slurp(out).find("load_cifar10: " + dir.file("nowhere") + " is not a directory") != std::string::npos);
  CHECK(run("train --device cuda:0", out) == 1);
  CHECK(slurp(out).find("--device cuda:0") != std::string::npos);
  // A learning rate that diverges stops training at the first non-finite step, naming it.
  CHECK(run("train --epochs 1 --lr 1e30 --arch resnet20 --norm gn --batch 32 --limit-train 128 --limit-test 32 --threads 2", out) == 1);
  CHECK(slurp(out).find("train: step 2: the loss is nan") != std::string::npos);
  // With --detect-anomaly the first op whose output is not finite is named instead.
  CHECK(run("train --epochs 1 --lr 1e30 --arch resnet20 --norm gn --batch 32 --limit-train 128 --limit-test 32 --threads 2"
            " --detect-anomaly", out) == 1);
  CHECK(slurp(out).find("': detect_anomaly: Conv2dBackward's forward output is not finite") != std::string::npos);
  CHECK(run("train --help", out) == 0);
  CHECK(slurp(out).find("--norm") != std::string::npos);

  // The small features: top-5 in the log, evaluation only, EMA, clipping, dropout, label smoothing.
  CHECK(slurp(log).find("test_top5") != std::string::npos);
  REQUIRE_MESSAGE(run("train --eval-only --limit-test 200 --checkpoint " + ckpt, out) == 0, slurp(out));
  CHECK(slurp(out).find("resnet20 (gn) on 200 test images of fashion-mnist/test: loss ") != std::string::npos);
  CHECK(slurp(out).find("top-5 ") != std::string::npos);
  const std::string extras = dir.file("extras.safetensors");
  REQUIRE_MESSAGE(run("train --epochs 1 --arch resnet20 --norm gn --batch 32 --limit-train 128 --limit-test 64 --threads 2"
                      " --ema 0.9 --clip-grad-norm 1 --dropout 0.2 --label-smoothing 0.1 --save " + extras, out) == 0, slurp(out));
  CHECK(slurp(out).find("(EMA ") != std::string::npos);
  const SafetensorsFile state = load_safetensors(dir.file("extras.train.safetensors"));
  CHECK(std::any_of(state.tensors.begin(), state.tensors.end(), [](const auto& t) { return t.first == "ema.fc.weight"; }));
  REQUIRE_MESSAGE(run("train --list-archs", out) == 0, slurp(out));
  CHECK(slurp(out).find("resnet20             272186") != std::string::npos);
}

TEST_CASE("infer reads images and raw pixels with the checkpoint's normalization, and names the classes") {
  REQUIRE_FASHION_MNIST();
  test::TempDir dir("infer");
  const std::string out = dir.file("out.txt");
  const std::string pretrained = std::string(MINIDL_SOURCE_DIR) + "/models/pretrained/resnet20_bn_fashion_mnist.safetensors";
  const ImageDataset test_set = load_fashion_mnist(false).head(200);
  // The first test image (an ankle boot) as a PNG: no flag but the checkpoint and the file.
  stbi_write_png(dir.file("boot.png").c_str(), 28, 28, 1, test_set.pixels.data(), 28);
  REQUIRE_MESSAGE(run("infer --checkpoint " + pretrained + " --input " + dir.file("boot.png"), out) == 0, slurp(out));
  CHECK(slurp(out).rfind("boot.png: Ankle boot ", 0) == 0);
  // 200 raw test images in [0, 1]: normalized by infer as in training, so the accuracy is the model's.
  std::vector<float> raw(test_set.pixels.begin(), test_set.pixels.end());
  for (float& v : raw) v /= 255.0f;
  save_npy(dir.file("raw.npy"), from_vector(raw, {200, 1, 28, 28}));
  REQUIRE_MESSAGE(run("infer --checkpoint " + pretrained + " --input " + dir.file("raw.npy") + " --output " +
                          dir.file("logits.npy"), out) == 0, slurp(out));
  const Tensor logits = load_npy(dir.file("logits.npy"));
  int64_t correct = 0;
  for (int64_t i = 0; i < 200; ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < 10; ++c)
      if (logits.at<float>({i, c}) > logits.at<float>({i, best})) best = c;
    correct += best == test_set.labels[static_cast<size_t>(i)];
  }
  CHECK(correct >= 180);  // 93.6 % on the first 500 when this was written; 17 % without normalization
  CHECK(slurp(out).find("raw.npy[0]: Ankle boot ") != std::string::npos);
}

TEST_CASE("every program answers --help, and refuses bad flags in one line before any work") {
  test::TempDir dir("flags");
  const std::string out = dir.file("out.txt");
  for (const std::string program : {"hello", "train", "infer", "grads", "gradcheck", "finetune", "sweep", "swap"}) {
    CAPTURE(program);
    CHECK(run(program + " --help", out) == 0);
    CHECK(slurp(out).find("Usage:") != std::string::npos);
    CHECK(run(program + " --bogus", out) == 2);  // one line: the first thing wrong (a required flag, or --bogus)
    const std::string text = slurp(out);
    CHECK(text.rfind(program + ": ", 0) == 0);
    CHECK(text.find(" (see " + program + " --help)\n") == text.size() - program.size() - 15);
    // The CPU kernels' environment variables, checked before anything else (core/program.h).
    CHECK(run(program + " --help", out, "MINIDL_CPU=avx3") == 2);
    CHECK(slurp(out) == program + ": MINIDL_CPU: expected avx512, avx2 or generic, got 'avx3'\n");
    CHECK(run(program + " --help", out, "MINIDL_CPU_CONV=fast") == 2);
    CHECK(slurp(out) == program + ": MINIDL_CPU_CONV: expected auto, direct, winograd or winograd4, got 'fast'\n");
    CHECK(run(program + " --help", out, "MINIDL_ADAPTIVE_THREADS=off") == 2);
    CHECK(slurp(out) == program + ": MINIDL_ADAPTIVE_THREADS: expected 0, 1 or log, got 'off'\n");
  }
  struct Case {
    std::string args, message;
  };
  const std::string missing = dir.file("missing.safetensors");
  for (const Case& c : std::vector<Case>{
           {"train --batch 0", "train: --batch: expected a positive number, found 0"},
           {"train --limit-train -5", "train: --limit-train: expected a number >= 0, found -5"},
           {"train --epochs 0 --schedule none", "train: --epochs: expected a positive number, found 0"},
           {"train --epochs -1", "train: --epochs: expected a positive number, found -1"},
           {"train --warmup -1", "train: --warmup: expected a number >= 0, found -1"},
           {"train --threads 0", "train: --threads: expected a positive number, found 0"},
           {"train --lr inf", "train: --lr: expected a finite number > 0, found inf"},
           {"train --lr nan", "train: --lr: expected a finite number > 0, found nan"},
           {"train --norm bx", "train: --norm: expected one of bn, gn, none, found bx"},
           {"train --groups -1", "train: --groups: expected a number >= 0, found -1"},
           {"train --label-smoothing 1", "train: --label-smoothing: expected a number in [0, 1), found 1"},
           {"train --save " + dir.file("nowhere/x.safetensors"),
            "train: --save: the directory " + dir.file("nowhere") + " does not exist"},
           {"train --resume " + missing, "train: --resume: no such file: " + missing},
           {"train --data folder:" + dir.path.string(), "train: --data folder:" + dir.path.string() + ": expected " +
                                                              dir.path.string() + "/train and " + dir.path.string() +
                                                              "/test, or --test-split FRACTION to hold out part of " +
                                                              dir.path.string() + " as the test set"},
           {"infer --checkpoint " + missing + " --input " + out, "infer: --checkpoint: no such file: " + missing},
           {"finetune --batch 0", "finetune: --batch: expected a positive number, found 0"},
           {"finetune --bn-checkpoint " + missing, "finetune: --bn-checkpoint: no such file: " + missing},
           {"gradcheck --max-elements -1", "gradcheck: --max-elements: expected a number >= 0, found -1"},
           {"gradcheck --norm gn --groups 5", "gradcheck: --groups 5: "},
           {"sweep --lr 0", "sweep: --lr: expected a finite number > 0, found 0"},
           {"sweep --norms bn,ln", "sweep: --norms: expected a comma-separated list of bn, gn, found bn,ln"},
           {"sweep --norms bn,", "sweep: --norms: expected a comma-separated list of bn, gn, found bn,"},
           {"swap --checkpoint " + missing, "swap: --checkpoint: no such file: " + missing},
           {"swap --modes copy,calibrate",
            "swap: --modes: expected a comma-separated list of copy, moments, lstsq, distill, found copy,calibrate"},
           {"swap --modes copy,lstsq --save " + dir.file("x.safetensors"),
            "swap: --save: expected one mode in --modes, found \"copy,lstsq\""},
           {"swap --groups 5", "swap: --groups 5: swap_bn_to_gn: bn1: GroupNorm cannot split 16 channels into 5 groups"},
           {"finetune --swap-mode calibrate", "finetune: --swap-mode: expected one of copy, moments, lstsq, distill"},
       }) {
    CAPTURE(c.args);
    CHECK(run(c.args, out) != 0);
    const std::string text = slurp(out);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);  // one line
    CHECK(text.rfind(c.message, 0) == 0);
    CHECK(text.find(".cpp:") == std::string::npos);  // no source locations
  }
}

TEST_CASE("finetune, swap and sweep run end to end on small settings") {
  REQUIRE_FASHION_MNIST();
  test::TempDir dir("finetune");
  const std::string out = dir.file("out.txt"), bn = dir.file("bn.safetensors"), gn = dir.file("gn.safetensors");
  // Pretrained on task A (classes 0-4); fine-tuned on task B (5-9) with a new head.
  for (const std::string& norm : {std::string("bn"), std::string("gn")})
    REQUIRE_MESSAGE(run("train --norm " + norm + " --classes 0-4 --epochs 1 --batch 32 --limit-train 320 --limit-test 100"
                        " --threads 2 --save " + (norm == "bn" ? bn : gn), out) == 0, slurp(out));
  CHECK(load_safetensors(bn).metadata.at("class_names") ==
        "[\"T-shirt/top\",\"Trouser\",\"Pullover\",\"Dress\",\"Coat\"]");
  REQUIRE_MESSAGE(run("finetune --bn-checkpoint " + bn + " --gn-checkpoint " + gn + " --steps 10 --limit-test 200"
                      " --calibration-images 64 --swap-mode lstsq --threads 2 --csv " + dir.file("ft.csv"), out) == 0,
                  slurp(out));
  const std::string table = slurp(dir.file("ft.csv"));
  for (const char* model : {"\nBN (train mode),", "\nBN (frozen),", "\nGN,", "\nBN -> GN (lstsq),"}) {
    CAPTURE(model);
    CHECK(table.find(model) != std::string::npos);
  }
  CHECK(slurp(out).find("task B: fashion-mnist classes 5-9") != std::string::npos);
  CHECK(run("finetune --bn-checkpoint " + gn + " --gn-checkpoint " + gn, out) == 1);
  CHECK(slurp(out).find("expected a BatchNorm model, found norm gn") != std::string::npos);
  // swap: the task from the card (classes 0-4), every mode, and the swapped model saved with its card.
  const std::string swapped = dir.file("swapped.safetensors");
  REQUIRE_MESSAGE(run("swap --checkpoint " + bn + " --limit-test 200 --calibration-images 64 --fit-steps 3 --threads 2 "
                      "--csv " + dir.file("swap.csv"), out) == 0, slurp(out));
  CHECK(slurp(out).find("test on 200 images of fashion-mnist classes 0-4, calibration on 64 training images") !=
        std::string::npos);
  const std::string swap_table = slurp(dir.file("swap.csv"));
  for (const char* row : {"\nBN (as trained),", "\nGN (copy),", "\nGN (moments),", "\nGN (lstsq),", "\nGN (distill),"}) {
    CAPTURE(row);
    CHECK(swap_table.find(row) != std::string::npos);
  }
  REQUIRE_MESSAGE(run("swap --checkpoint " + bn + " --modes lstsq --groups 4 --limit-test 200 --calibration-images 64 "
                      "--save " + swapped, out) == 0, slurp(out));
  const std::map<std::string, std::string> card = load_safetensors(swapped).metadata;
  CHECK(card.at("norm") == "gn");
  CHECK(card.at("groups") == "4");
  CHECK(card.at("data") == "fashion-mnist classes 0-4");
  // The saved model is evaluated from its card alone, with the accuracy swap printed for it.
  const std::string swap_out = slurp(out);
  const std::string row = "GN (lstsq)       test accuracy ";
  const size_t at = swap_out.find(row);
  REQUIRE(at != std::string::npos);
  const std::string accuracy = swap_out.substr(at + row.size(), swap_out.find('%', at) - at - row.size());
  REQUIRE_MESSAGE(run("train --eval-only --checkpoint " + swapped + " --classes 0-4 --limit-test 200", out) == 0, slurp(out));
  CHECK(slurp(out).find("top-1 " + accuracy.substr(accuracy.find_first_not_of(' ')) + "%") != std::string::npos);
  CHECK(run("swap --checkpoint " + gn, out) == 1);
  CHECK(slurp(out).find("expected a BatchNorm model, found norm gn") != std::string::npos);

  CHECK(run("train --classes 3-1", out) == 1);
  CHECK(slurp(out).find("--classes: expected a range first-last with first <= last") != std::string::npos);

  REQUIRE_MESSAGE(run("sweep --quick --workers 2 --per-worker 8,2 --threads 2 --csv " + dir.file("sweep.csv"), out) == 0,
                  slurp(out));
  std::ifstream in(dir.file("sweep.csv"));
  std::string header, line;
  std::getline(in, header);
  CHECK(header == "norm,images_per_worker,workers,total_batch,lr,seed,epochs,steps,test_error,test_loss,seconds");
  std::vector<std::string> runs;
  while (std::getline(in, line)) runs.push_back(line);
  REQUIRE(runs.size() == 4);  // bn and gn at 8 and 2 images per worker
  CHECK(runs[0].rfind("bn,8,2,16,0.00625,0,1,16,", 0) == 0);  // lr 0.1 × 16 / 256; 256 images / 16 = 16 steps
  CHECK(runs[3].rfind("gn,2,2,4,0.0015625,0,1,64,", 0) == 0);
  CHECK(slurp(dir.file("sweep.summary.csv")).find("\nbn,2,2,1,") != std::string::npos);
  // --norms: one norm, as when the norms run side by side in two processes.
  REQUIRE_MESSAGE(run("sweep --quick --workers 2 --per-worker 2 --norms gn --threads 2 --csv " + dir.file("gn.csv"), out) == 0,
                  slurp(out));
  const std::string gn_runs = slurp(dir.file("gn.csv"));
  CHECK(std::count(gn_runs.begin(), gn_runs.end(), '\n') == 2);
  CHECK(gn_runs.find("\ngn,2,2,4,0.0015625,0,1,64,") != std::string::npos);
  CHECK(run("sweep --per-worker 8,x", out) == 1);
  CHECK(slurp(out).find("--per-worker: expected a comma-separated list of sizes") != std::string::npos);
  CHECK(run("sweep --quick --per-worker 8,0", out) == 1);  // was SIGFPE (steps = images / 0)
  CHECK(slurp(out).find("--per-worker: expected sizes > 0, found 0") != std::string::npos);
  CHECK(run("sweep --quick --protocol total --total-batch 12 --per-worker 8", out) == 1);
  CHECK(slurp(out).find("--per-worker 8: does not divide --total-batch 12") != std::string::npos);
}

// The programs from the command line: train (two epochs on a slice of Fashion-MNIST, the loss
// falls; then resumed for a third), infer and grads on its checkpoint, and their errors.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {


// Runs a program from build/bin with arguments; returns its exit code, output in `log`.
int run(const std::string& args, const std::string& log) {
  const std::string command = std::string(MINIDL_BIN_DIR) + "/" + args + " > " + log + " 2>&1";
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
  REQUIRE_MESSAGE(run("infer" + model + " --input " + dir.file("x.npy") + " --output " + dir.file("logits.npy"), out) == 0, slurp(out));
  CHECK(to_string(load_npy(dir.file("logits.npy")).shape()) == "[4, 10]");
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
  CHECK(slurp(out).find(ckpt + ": load_state_dict: cannot load into ResNet:\n  missing keys: layer1.3.conv1.weight") != std::string::npos);
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
}

TEST_CASE("finetune and sweep run end to end on small settings") {
  REQUIRE_FASHION_MNIST();
  test::TempDir dir("finetune");
  const std::string out = dir.file("out.txt"), ckpt = dir.file("bn.safetensors");
  REQUIRE_MESSAGE(run("train --norm bn --epochs 1 --batch 32 --limit-train 320 --limit-test 100 --threads 2 --save " + ckpt, out) == 0,
                  slurp(out));
  REQUIRE_MESSAGE(run("finetune --checkpoint " + ckpt + " --steps 10 --limit-test 200 --calibration-images 64 --threads 2 --csv " +
                          dir.file("ft.csv"), out) == 0, slurp(out));
  const std::string table = slurp(dir.file("ft.csv"));
  CHECK(table.find("GN (calibrate),") != std::string::npos);
  CHECK(table.find("GN (copy),") != std::string::npos);
  CHECK(table.find("\nBN,") != std::string::npos);
  CHECK(slurp(out).find("after fine-tuning") != std::string::npos);

  REQUIRE_MESSAGE(run("sweep --quick --batches 8,2 --threads 2 --csv " + dir.file("sweep.csv"), out) == 0, slurp(out));
  const std::vector<std::vector<double>> rows = [&] {
    std::ifstream in(dir.file("sweep.csv"));
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<double>> r;
    while (std::getline(in, line)) r.push_back({std::stod(line.substr(line.find(',') + 1))});
    return r;
  }();
  CHECK(rows.size() == 4);  // bn and gn at batch 8 and 2
  CHECK(run("sweep --batches 8,x", out) == 1);
  CHECK(slurp(out).find("--batches: expected a comma-separated list of sizes") != std::string::npos);
  CHECK(run("sweep --quick --batches 8,0", out) == 1);  // was SIGFPE (steps = images / 0)
  CHECK(slurp(out).find("--batches: expected batch sizes > 0, found 0") != std::string::npos);
}

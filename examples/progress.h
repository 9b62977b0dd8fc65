// A one-line progress bar for long loops: on a terminal it redraws in place; otherwise (a log
// file, CI) it prints a plain line every 10 %.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace minidl::examples {

class Progress {
 public:
  /// `label` starts the line ("epoch 3/15"); `total` steps make 100 %. show = false: prints
  /// nothing (every rank of a data-parallel job but rank 0).
  Progress(std::string label, int64_t total, bool show = true)
      : label_(std::move(label)), total_(total), tty_(isatty(fileno(stdout)) != 0), show_(show), start_(clock::now()) {}

  /// Marks `done` steps finished; `info` is shown after the bar ("loss 0.41  acc 85.2%  812 img/s").
  void update(int64_t done, const std::string& info) {
    if (!show_) return;
    const double elapsed = seconds();
    const double eta = done > 0 ? elapsed * (total_ - done) / done : 0;
    const int percent = total_ > 0 ? static_cast<int>(100 * done / total_) : 100;
    if (tty_) {
      constexpr int kWidth = 24;
      const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
      std::printf("\r%s [%s%s] %3d%% %s  ETA %s ", label_.c_str(), std::string(filled, '#').c_str(),
                  std::string(kWidth - filled, '.').c_str(), percent, info.c_str(), clock_text(eta).c_str());
      std::fflush(stdout);
    } else if (percent >= next_percent_ || done == total_) {
      std::printf("%s %3d%% %s  ETA %s\n", label_.c_str(), percent, info.c_str(), clock_text(eta).c_str());
      std::fflush(stdout);
      next_percent_ = percent / 10 * 10 + 10;
    }
  }
  /// Ends the bar's line (on a terminal).
  void finish() {
    if (tty_ && show_ && !finished_) std::printf("\n");
    finished_ = true;
  }
  /// A bar left by an error ends its line too, so that the error starts on one of its own.
  ~Progress() {
    finish();
    std::fflush(stdout);
  }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

  static std::string clock_text(double s) {
    char buf[32];
    const int total = static_cast<int>(s + 0.5);
    std::snprintf(buf, sizeof buf, "%d:%02d", total / 60, total % 60);
    return buf;
  }

 private:
  using clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_;
  bool tty_, show_;
  clock::time_point start_;
  int next_percent_ = 10;
  bool finished_ = false;
};

}  // namespace minidl::examples

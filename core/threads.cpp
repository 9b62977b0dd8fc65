#include "threads.h"

#include <omp.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "error.h"

namespace minidl {
namespace {

// A window of 0.1 s is 10 clock ticks per CPU (/proc/stat counts in 1/100 s): the load is known to
// ~0.1 CPU. Fewer threads are taken after one window that asks for them (two threads beside a
// busy process, each waiting for the other, are the expensive mistake), more after two in a row.
constexpr double kWindowSeconds = 0.1;
constexpr int kWindowsToGrow = 2;

enum Mode : int { kUnread = -1, kOff = 0, kOn = 1, kLog = 2 };
std::atomic<int> g_mode{kUnread};

int mode() {
  int m = g_mode.load(std::memory_order_relaxed);
  if (m != kUnread) return m;
  const char* v = std::getenv("MINIDL_ADAPTIVE_THREADS");
  const std::string text = v != nullptr ? v : "";
  MINIDL_CHECK(text.empty() || text == "0" || text == "1" || text == "log",
               "MINIDL_ADAPTIVE_THREADS: expected 0, 1 or log, got '", text, "'");
  m = text == "0" ? kOff : text == "log" ? kLog : kOn;
  g_mode.store(m, std::memory_order_relaxed);
  return m;
}

double seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The CPUs' time so far: busy and all clock ticks summed over the CPUs of this thread's affinity
// mask (/proc/stat, in 1/CLK_TCK s; busy = user, nice, system, irq, softirq and steal — time a
// hypervisor gave to other machines is not ours to use either), and this process's CPU time.
struct Sample {
  double wall = 0, own = 0;
  long long busy = 0, total = 0;
  int cpus = 0;
};

bool read_sample(Sample& s) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) return false;
  FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return false;
  s = Sample{};
  s.wall = seconds(CLOCK_MONOTONIC);
  s.own = seconds(CLOCK_PROCESS_CPUTIME_ID);
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    int cpu = 0;
    long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (std::strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') continue;  // "cpu " sums them all
    if (std::sscanf(line + 3, "%d %lld %lld %lld %lld %lld %lld %lld %lld", &cpu, &user, &nice, &system, &idle,
                    &iowait, &irq, &softirq, &steal) < 5 ||
        cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &mask))
      continue;
    const long long busy = user + nice + system + irq + softirq + steal;
    s.busy += busy;
    s.total += busy + idle + iowait;
    ++s.cpus;
  }
  std::fclose(f);
  return s.cpus > 0;
}

// One calling thread's view: OpenMP's thread count is a per-thread setting.
struct State {
  bool started = false, unavailable = false;
  int ceiling = 0;  // the user's count
  int applied = 0;  // the count this thread runs with (set here, or found set by the user)
  double next = 0;  // when the next window ends (CLOCK_MONOTONIC seconds)
  Sample last;
  int pending = 0, agreed = 0;  // a count other than `applied` asked for by `agreed` windows in a row
};
thread_local State t_state;

}  // namespace

bool adaptive_threads() { return mode() != kOff; }

void set_num_threads(int n) {
  MINIDL_CHECK(n >= 1, "set_num_threads: expected a count of at least 1, got ", n);
  omp_set_num_threads(n);
  State& s = t_state;
  s = State{};  // the next tick starts over from this count
}

void set_adaptive_threads(bool on) {
  const int before = mode();
  g_mode.store(on ? (before == kLog ? kLog : kOn) : kOff, std::memory_order_relaxed);
  State& s = t_state;
  if (!on && s.started && s.applied != s.ceiling && omp_get_max_threads() == s.applied)
    omp_set_num_threads(s.ceiling);
  s = State{};
}

int threads_for_load(double cpus, double others, int ceiling) {
  const double free = cpus - std::max(0.0, others);
  const int count = static_cast<int>(std::floor(free + 0.4));
  return std::clamp(count, 1, std::max(1, ceiling));
}

namespace detail {

void tick_threads() {
  if (mode() == kOff || omp_in_parallel()) return;
  State& s = t_state;
  if (s.unavailable) return;
  const double now = seconds(CLOCK_MONOTONIC);
  if (s.started && now < s.next) return;
  const int current = omp_get_max_threads();
  if (!s.started || current != s.applied) {  // the first tick, or the user has set a count since
    s = State{};
    s.started = true;
    s.ceiling = s.applied = current;
    s.next = now + kWindowSeconds;
    s.unavailable = !read_sample(s.last);
    return;
  }
  s.next = now + kWindowSeconds;
  if (s.ceiling == 1) return;  // nothing to adapt
  Sample sample;
  if (!read_sample(sample)) {
    s.unavailable = true;
    return;
  }
  const double wall = sample.wall - s.last.wall;
  const long long ticks = sample.total - s.last.total;
  if (wall <= 0 || ticks <= 0 || sample.cpus != s.last.cpus) {
    s.last = sample;
    return;
  }
  // The CPUs' busy time over the window in seconds (ticks scaled by the window's wall time: the
  // tick rate times the CPUs' count), less this process's own.
  const double busy = static_cast<double>(sample.busy - s.last.busy) / static_cast<double>(ticks) * wall * sample.cpus;
  const double others = (busy - (sample.own - s.last.own)) / wall;
  s.last = sample;
  const int want = threads_for_load(sample.cpus, others, s.ceiling);
  if (want == s.applied) {
    s.agreed = 0;
    return;
  }
  s.agreed = want == s.pending ? s.agreed + 1 : 1;
  s.pending = want;
  if (want > s.applied && s.agreed < kWindowsToGrow) return;
  if (mode() == kLog)
    std::fprintf(stderr, "minidl: %d OpenMP thread%s from now (of %d): other processes used %.2f of %d CPUs\n", want,
                 want == 1 ? "" : "s", s.ceiling, others, sample.cpus);
  omp_set_num_threads(want);
  s.applied = want;
  s.agreed = 0;
}

}  // namespace detail
}  // namespace minidl

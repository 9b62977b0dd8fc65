// How many OpenMP threads the CPU kernels use: the count the user set (OMP_NUM_THREADS,
// omp_set_num_threads, a program's --threads) while the CPUs are free, fewer while other processes
// keep them busy — libgomp's OMP_DYNAMIC in spirit, measured over the last fraction of a second.
//
// Why. Two threads beside one busy process are three runnable threads on two cores: every
// parallel region waits for whichever of ours the kernel has just descheduled, and a step on two
// threads ran at 0.72-0.98x the speed of one thread, which gets a core to itself (AVX2 VM,
// bench/RESULTS.md). So a program takes fewer threads while others run, and with that it can let
// libgomp's threads spin between regions on an idle machine (core/program.h) — what made two
// threads fall far below one beside a busy process before.
// Results do not depend on the thread count (tests/test_threads.cpp: bit for bit), so the count
// may change between any two kernels.
//
// How. Every CPU kernel call (KernelTable::at) ticks. At most every 0.1 s a tick reads the busy
// time of the CPUs this process may run on (/proc/stat, its affinity mask) and this process's own
// CPU time; what others used over that window, in CPUs, is busy − own. The count becomes
// threads_for_load of it: a smaller count at once, a larger one when two windows in a row ask for
// it. Per calling thread (OpenMP's count is per thread); never inside a parallel region.
#pragma once

namespace minidl {

/// The user's count for the calling thread — torch.set_num_threads: OpenMP's count, and the most
/// the adaptive count takes. omp_set_num_threads works too; it is noticed at the next kernel call
/// when it changes the count in use (not when it sets the count adapted to at that moment).
void set_num_threads(int n);

/// Does the count adapt? Yes unless MINIDL_ADAPTIVE_THREADS=0 (read once; 0, 1 or log, anything
/// else an Error) or set_adaptive_threads said no; MINIDL_ADAPTIVE_THREADS=log also prints each
/// change on stderr. Off, the count is the user's and is not touched.
bool adaptive_threads();
/// On or off for the whole process; off puts the calling thread back to the user's count.
void set_adaptive_threads(bool on);

/// The count for a window in which other processes used `others` of the `cpus` CPUs this process
/// may use: the free CPUs, cpus − others, rounded down after adding 0.4, between 1 and `ceiling`
/// (the user's count). On two CPUs: 2 threads while others use less than 0.4 of a CPU; one busy
/// process (0.67-1 CPU, as it shares them with ours) gets us down to 1.
int threads_for_load(double cpus, double others, int ceiling);

namespace detail {
/// Called by every CPU kernel dispatch; cheap (a clock read) between samples.
void tick_threads();
}  // namespace detail

}  // namespace minidl

// What every minidl program does first (start_program): check the environment variables the CPU
// kernels read, and choose how OpenMP's threads wait between parallel regions.
//
// libgomp's threads spin a while at the end of every parallel region, waiting for the next one,
// before they sleep (its default policy). On an idle machine that saves a wake-up per region:
// resnet20 on 2 threads, batch 32, inference 1.13-1.22x and training 1.10-1.29x faster than
// waiting passively (bench/RESULTS.md). On a busy one a spinning thread holds a core that the
// thread doing the real work — or another process — needs: bench/train_step ran resnet20 at 134
// img/s on 2 threads beside one busy process, against 362 on 1 thread, and at 354 on 2 threads
// waiting passively. With the thread count adapting to the machine's load (core/threads.h, the
// default) a busy machine gets one thread, whose regions have nobody to wait for, so programs keep
// libgomp's default. Only with MINIDL_ADAPTIVE_THREADS=0 do they wait passively; libgomp reads
// OMP_WAIT_POLICY only when it is loaded, before main(), so a program asks for that by
// re-executing itself once with it set.
#pragma once

namespace minidl {

/// Call first thing in main(). Checks MINIDL_CPU and MINIDL_CPU_CONV (core/cpu_capability.h) and
/// MINIDL_ADAPTIVE_THREADS (core/threads.h) —
/// a bad value prints "PROGRAM: MINIDL_CPU: expected ..." on one line and exits with status 2,
/// before any work. Then, when the thread count does not adapt (MINIDL_ADAPTIVE_THREADS=0) and
/// neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set (the user has not chosen), re-executes this
/// program with OMP_WAIT_POLICY=passive — argv unchanged — and does not return; otherwise, or under
/// valgrind (whose tools would not follow), or if exec fails, returns and the program goes on as
/// it is. minidl's programs all call it.
void start_program(char** argv);

}  // namespace minidl

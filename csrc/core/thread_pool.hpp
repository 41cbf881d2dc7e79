// A persistent pool of worker threads. One parallel job runs at a time (callers from many
// threads queue on a mutex); the calling thread always takes part, so threads == 1 never
// touches the pool.
#pragma once

#include <cstddef>
#include <functional>

namespace weightinit {

// Threads this process may run on (its CPU affinity mask), at least 1.
int usable_cpus();
// WEIGHTINIT_NUM_THREADS if set to a positive integer, else usable_cpus().
int default_threads();

// Runs task(i) for every i in [0, ntasks) on up to `threads` threads (the caller included),
// tasks handed out dynamically. Returns when all have finished. If a task throws, the tasks
// not yet started are skipped, and the first exception is rethrown here once every thread has
// left the job.
void parallel_for(size_t ntasks, int threads, const std::function<void(size_t)>& task);

// Test hook for that contract: ntasks tasks of sleep_us each on `threads` threads, of which
// std::bad_alloc is thrown by the first task to run on a pool worker (where 0), on the calling
// thread (where 1), or by every task (where 2). Throws std::logic_error instead if any task is
// still running when parallel_for has handed back the error.
void parallel_for_fault_test(size_t ntasks, int threads, int where, int sleep_us);

}  // namespace weightinit

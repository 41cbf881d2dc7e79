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
// tasks handed out dynamically. Returns when all have finished.
void parallel_for(size_t ntasks, int threads, const std::function<void(size_t)>& task);

}  // namespace weightinit

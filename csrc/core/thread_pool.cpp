#include "thread_pool.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace weightinit {

int usable_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

int default_threads() {
  if (const char* env = std::getenv("WEIGHTINIT_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v <= 4096) return int(v);
  }
  return usable_cpus();
}

namespace {

class Pool {
 public:
  explicit Pool() : pid_(getpid()) {}
  pid_t pid() const { return pid_; }

  // Returns (or rethrows a task's first exception) only once no worker is inside the job, so
  // no worker is ever left holding `task` on a frame that is gone.
  void run(size_t ntasks, int threads, const std::function<void(size_t)>& task) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);  // one job at a time
    const int helpers = grow(threads - 1);
    {
      std::lock_guard<std::mutex> lk(m_);
      task_ = &task;
      ntasks_ = ntasks;
      next_.store(0, std::memory_order_relaxed);
      failed_.store(false, std::memory_order_relaxed);
      error_ = nullptr;
      active_ = helpers;
      remaining_.store(helpers, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();  // no system call when every worker is still spinning
    work();
    spin_until([&] { return remaining_.load(std::memory_order_acquire) == 0; });
    std::exception_ptr error;
    {
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [&] { return remaining_.load(std::memory_order_acquire) == 0; });
      task_ = nullptr;
      std::swap(error, error_);
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  // Starts workers up to n and returns how many there are (fewer if the system refuses threads).
  int grow(int n) {
    while (int(workers_) < n) {
      const int id = int(workers_);
      try {
        std::thread([this, id] { loop(id); }).detach();  // lives as long as the process
      } catch (const std::system_error&) {
        break;
      }
      ++workers_;
    }
    return std::min(n, int(workers_));
  }

  // Takes tasks until none is left; after a task throws, the rest of the job is cancelled.
  void work() noexcept {
    for (;;) {
      if (failed_.load(std::memory_order_relaxed)) return;
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= ntasks_) return;
      try {
        (*task_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        failed_.store(true, std::memory_order_relaxed);
      }
    }
  }

  void loop(int id) {
    uint64_t seen = 0;
    for (;;) {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
        if (id >= active_) continue;  // this job asked for fewer threads
      }
      work();
      std::lock_guard<std::mutex> lk(m_);
      // under m_, so the caller cannot miss the notification between its check and its wait
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_cv_.notify_one();
    }
  }

  // Polls `ready` for up to kSpin before the caller blocks on a condition variable: a fill of a
  // few hundred microseconds would otherwise spend a large part of it in futex wake-ups (the
  // next job of a loop of fills, or the last worker finishing). Yields the core while spinning,
  // so a loaded machine loses little. Only a shortcut: the blocking wait after it decides.
  template <class Ready>
  static void spin_until(Ready ready) {
    constexpr auto kSpin = std::chrono::microseconds(100);
    if (ready()) return;
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 1;; ++i) {
      if (ready()) return;
      if (i % 64 == 0) {
        if (std::chrono::steady_clock::now() >= until) return;
        sched_yield();
      }
    }
  }

  const pid_t pid_;
  std::mutex job_mutex_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t)>* task_ = nullptr;
  size_t ntasks_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  // the job's first exception, guarded by m_
  int active_ = 0;
  // Written under m_; atomic so that spin_until can poll them without it.
  std::atomic<int> remaining_{0};
  std::atomic<uint64_t> generation_{0};
  size_t workers_ = 0;
};

std::mutex g_pool_mutex;
Pool* g_pool = nullptr;

Pool& pool() {
  std::lock_guard<std::mutex> lk(g_pool_mutex);
  // After fork() the child has none of the parent's workers: start a fresh pool (the old
  // one's mutexes may be held by threads that no longer exist, so it is abandoned, not freed).
  if (g_pool == nullptr || g_pool->pid() != getpid()) g_pool = new Pool();
  return *g_pool;
}

}  // namespace

void parallel_for(size_t ntasks, int threads, const std::function<void(size_t)>& task) {
  if (ntasks == 0) return;
  if (threads > int(ntasks)) threads = int(ntasks);
  if (threads <= 1) {
    for (size_t i = 0; i < ntasks; ++i) task(i);
    return;
  }
  pool().run(ntasks, threads, task);
}

void parallel_for_fault_test(size_t ntasks, int threads, int where, int sleep_us) {
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> running{0};
  std::atomic<bool> thrown{false};
  try {
    parallel_for(ntasks, threads, [&](size_t) {
      running.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
      const bool on_worker = std::this_thread::get_id() != caller;
      const bool throw_here = where == 2 || (where == int(!on_worker) && !thrown.exchange(true));
      running.fetch_sub(1);
      if (throw_here) throw std::bad_alloc();
    });
  } catch (const std::bad_alloc&) {
    if (running.load() != 0) throw std::logic_error("a task was still running after parallel_for threw");
    throw;
  }
}

}  // namespace weightinit

#include "thread_pool.hpp"

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
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

  void run(size_t ntasks, int threads, const std::function<void(size_t)>& task) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);  // one job at a time
    const int helpers = threads - 1;
    grow(helpers);
    {
      std::lock_guard<std::mutex> lk(m_);
      task_ = &task;
      ntasks_ = ntasks;
      next_.store(0, std::memory_order_relaxed);
      active_ = helpers;
      remaining_ = helpers;
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [&] { return remaining_ == 0; });
    task_ = nullptr;
  }

 private:
  void grow(int n) {
    while (int(workers_) < n) {
      const int id = int(workers_++);
      std::thread([this, id] { loop(id); }).detach();  // lives as long as the process
    }
  }

  void work() {
    for (;;) {
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= ntasks_) return;
      (*task_)(i);
    }
  }

  void loop(int id) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        if (id >= active_) continue;  // this job asked for fewer threads
      }
      work();
      std::lock_guard<std::mutex> lk(m_);
      if (--remaining_ == 0) done_cv_.notify_one();
    }
  }

  const pid_t pid_;
  std::mutex job_mutex_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t)>* task_ = nullptr;
  size_t ntasks_ = 0;
  std::atomic<size_t> next_{0};
  int active_ = 0;
  int remaining_ = 0;
  uint64_t generation_ = 0;
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

}  // namespace weightinit

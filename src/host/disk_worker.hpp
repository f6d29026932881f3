// One thread that runs the daemon's disk writes, in order, so that the network thread does not
// wait on the disk. A direct write of a 256 KiB piece takes about 0.3 ms; done on the network
// thread, a 1 GiB fetch spent 2.5 s of its 7.5 s not reading its socket (bench/RESULTS.md).
// Tasks report back by posting to the io_context themselves; the worker knows nothing of them.
//
// Thread safety: post() may be called from any thread; the destructor drains the queue (every
// task posted runs) and joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace shoal::host {

class disk_worker {
 public:
  disk_worker() : thread_([this] { run(); }) {}
  ~disk_worker() { stop(); }
  disk_worker(const disk_worker&) = delete;
  disk_worker& operator=(const disk_worker&) = delete;

  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

  // Runs what is queued, then ends the thread. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace shoal::host

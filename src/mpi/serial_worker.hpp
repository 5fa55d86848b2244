#pragma once
// Internal: one helper thread that runs tasks one at a time, in the order submitted.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace swarm::mpi::detail {

/// The root's file I/O lane: reading the next window and writing finished ones run here, in
/// order, while the calling thread keeps MPI and HTTP moving. Tasks must not call MPI.
class SerialWorker {
 public:
  SerialWorker();
  /// Tasks not yet started are dropped (their futures report broken_promise); the running one
  /// is waited for. Declare the worker after everything its tasks use.
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  /// Queues `task`; the future carries its result or exception.
  template <typename F>
  auto submit(F task) -> std::future<std::invoke_result_t<F&>> {
    using Result = std::invoke_result_t<F&>;
    auto packaged = std::make_shared<std::packaged_task<Result()>>(std::move(task));
    auto future = packaged->get_future();
    push([packaged] { (*packaged)(); });
    return future;
  }

 private:
  void push(std::function<void()> task);
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the queue exists
};

/// True when `f` holds a result (or exception) now.
template <typename T>
bool ready(const std::future<T>& f) {
  return f.valid() && f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

/// Collects the finished futures at the front of `queue`, oldest first, rethrowing the first
/// exception: the caller's I/O errors surface as soon as they happen.
template <typename Queue>
void collect_ready(Queue& queue) {
  while (!queue.empty() && ready(queue.front())) {
    queue.front().get();
    queue.pop_front();
  }
}

}  // namespace swarm::mpi::detail

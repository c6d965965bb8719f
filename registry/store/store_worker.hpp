// The store worker: durable writes off the network thread, in batches (SPEC 6, 9.1). One thread
// of its own runs the store jobs the core asks for, strictly in order. It takes every job queued
// while it was busy and runs them in one transaction, so a flood of writes costs one fsync per
// batch instead of one per row (group commit; synchronous=FULL stays on, so an answer means the
// row is on disk). The answers are handed to the io_context in order, many per posted handler.
//
// The store (its SQLite connection) belongs to this thread from construction on.
#pragma once

#include "registry/core/store_jobs.hpp"
#include "registry/store/sqlite_store.hpp"

#include <asio/io_context.hpp>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::registry {

// Runs one job on the store (outside the worker: the test harness's shell does the same).
store_done execute(storage& store, store_job& job);

class store_worker {
 public:
  // Runs on the io thread with answers in the order their jobs were submitted.
  using completion = std::function<void(std::vector<store_done>& answers)>;

  // Jobs in one transaction at most; more wait for the next.
  static constexpr std::size_t max_batch_jobs = 8192;

  store_worker(asio::io_context& io, sqlite_store& store, completion done);
  // Runs every job submitted so far (their answers are posted, and may never be delivered if
  // the io_context has stopped), then stops.
  ~store_worker();
  store_worker(const store_worker&) = delete;
  store_worker& operator=(const store_worker&) = delete;

  // Queues the jobs (leaving `jobs` empty).
  void submit(std::vector<store_job>& jobs);

 private:
  void run();
  void run_batch(std::vector<store_job>& batch, std::vector<store_done>& answers);
  void deliver();

  asio::io_context& io_;
  sqlite_store& store_;
  completion done_;

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::vector<store_job> queue_;  // guarded by queue_mutex_
  bool stopping_ = false;         // guarded by queue_mutex_

  std::mutex answers_mutex_;
  std::vector<store_done> answers_;     // guarded by answers_mutex_
  bool delivery_posted_ = false;        // guarded by answers_mutex_
  std::vector<store_done> delivering_;  // io thread only

  // Last: started once everything it uses exists.
  std::thread thread_;
};

}  // namespace parley::registry

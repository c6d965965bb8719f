// The order in which the hash pool runs password jobs (SPEC 9.1), apart from its threads so that
// it can be tested step by step. Not thread-safe: the pool calls it under its own mutex.
//
// Fair (the default): every address has its own line of waiting jobs, and the addresses take
// turns, one job each, in the order they first had one waiting; an address never has two jobs
// running at once. So a flood from one address delays another address's login by at most one
// job per other address with something waiting, however long the flooding address's line is.
// The waiting jobs are bounded in all and per address, and a waiting job is dropped (and its
// password wiped) when its session goes.
//
// Not fair (`--hash-fairness off`, for comparisons only): one line in order of arrival, every
// job runs even when its connection has gone, as before the guard; only the total bound holds.
#pragma once

#include "registry/core/registry_core.hpp"

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace parley::registry {

// A job as the pool holds it, with the function that takes its answer: on the heap, so moving it
// between lines never copies the password, which is wiped however the job ends (run, dropped,
// refused, or never started when the pool stops).
struct queued_job {
  hash_job job;
  std::function<void(hash_done)> done;
  ~queued_job();
};
using queued_job_ptr = std::unique_ptr<queued_job>;

struct hash_queue_limits {
  std::size_t max_waiting = 1024;            // jobs waiting in all; 0: no bound
  std::size_t max_waiting_per_address = 32;  // jobs waiting from one address; 0: no bound
  bool fair = true;
};

class hash_queue {
 public:
  enum class admission { queued, queue_full, address_full };

  explicit hash_queue(hash_queue_limits limits) : limits_(limits) {}

  // Queues the job, or leaves it with the caller when a bound is reached.
  admission push(queued_job_ptr& job);
  // The job to run next (its address counts as running until finished()), or null when no
  // waiting job may start now.
  queued_job_ptr next();
  // The job taken by next() for this address is done.
  void finished(const std::string& address);
  // Drops the waiting jobs of a session that has gone; how many. A running one cannot be
  // stopped (its answer finds no session). Nothing in the unfair mode.
  std::size_t cancel(session_id session);

  std::size_t waiting() const { return waiting_; }
  const hash_queue_limits& limits() const { return limits_; }

 private:
  struct line {
    std::deque<queued_job_ptr> jobs;
    bool running = false;
  };

  hash_queue_limits limits_;
  std::size_t waiting_ = 0;
  // Fair: the addresses with a job waiting or running; an address is erased with its last job.
  std::unordered_map<std::string, line> lines_;
  // Fair: addresses whose next job may start, in turn order (each at most once).
  std::deque<std::string> turns_;
  // Fair: the address of each session with a job waiting, for cancel().
  std::unordered_map<session_id, std::string> waiting_sessions_;
  // Not fair: every job in order of arrival.
  std::deque<queued_job_ptr> arrivals_;
};

}  // namespace parley::registry

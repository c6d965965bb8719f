// The password-hashing pool: Argon2id is slow on purpose (tens of milliseconds and tens of MiB
// per call), so it never runs on the io thread, where it would stall every other session. Jobs
// run on a small thread pool; their answers are collected and handed to the io_context in
// batches: one posted handler delivers every answer that finished since the last one. A burst of
// logins then becomes one burst of presence notices, which every online connection sends in one
// write instead of one write per login (SPEC 7's fan-out is what makes logins cost O(online)).
//
// Which job runs next is the hash_queue's choice (SPEC 9.1): turns between addresses, bounded
// lines, and jobs of sessions that have gone dropped (cancel). A job the queue refuses is
// answered at once, without hashing, as `refused`.
#pragma once

#include "registry/auth/hash_queue.hpp"
#include "registry/auth/password_hash.hpp"
#include "registry/core/registry_core.hpp"

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace parley::registry {

class hash_pool {
 public:
  // Runs on the io thread with the job's answer.
  using completion = std::function<void(hash_done result)>;

  // Answers handed to the io thread in one delivery; more wait for the next.
  static constexpr std::size_t max_answers_per_delivery = 64;

  // Each thread may hold one Argon2id working area (64 MiB at `interactive`, 256 at `moderate`).
  static constexpr std::size_t max_threads = 64;

  // One thread fewer than the machine has cores, so the io thread keeps one; at least one.
  static std::size_t default_threads();

  hash_pool(asio::io_context& io, std::size_t threads, auth::hash_cost cost,
            hash_queue_limits limits = {});
  // Drops the jobs not yet started and waits for the running ones.
  ~hash_pool();
  hash_pool(const hash_pool&) = delete;
  hash_pool& operator=(const hash_pool&) = delete;

  // Queues the job; it runs on a pool thread when its turn comes, then `done` is called on the
  // io thread, together with the other answers that finished meanwhile, in the order they
  // finished. A job over the queue's bounds is not run: `done` gets it back as `refused`. The
  // password is moved out of `job` (and the moved-from string wiped); the pool wipes its own
  // copy once it is used, or when the job is dropped.
  void submit(hash_job&& job, completion done);

  // The session has gone: its waiting job is dropped and never runs (its password wiped).
  void cancel(session_id session);

  // Jobs waiting (not running), for tests and logs.
  std::size_t waiting();
  const hash_queue_limits& limits() const { return limits_; }

  // Start-up only, before the io_context runs: hashes every password in parallel on the pool
  // and blocks the calling thread until all are done. nullopt where libsodium failed. The
  // passwords are wiped.
  std::vector<std::optional<std::string>> hash_all(std::vector<std::string>& passwords);

  std::size_t threads() const { return threads_; }
  auth::hash_cost cost() const { return cost_; }

 private:
  struct answer {
    completion done;
    hash_done result;
  };
  // Pool thread: runs jobs while the queue has one that may start, then returns.
  void run_jobs();
  // Pool thread: queues the answer, and posts a delivery unless one is posted already.
  void finished(answer&& a);
  // io thread: calls every queued answer's completion.
  void deliver();

  asio::io_context& io_;
  std::size_t threads_;
  auth::hash_cost cost_;
  hash_queue_limits limits_;
  std::mutex queue_mutex_;
  hash_queue queue_;         // guarded by queue_mutex_
  std::size_t runners_ = 0;  // guarded by queue_mutex_: pool threads in run_jobs
  bool stopping_ = false;    // guarded by queue_mutex_
  std::mutex answers_mutex_;
  std::vector<answer> answers_;     // guarded by answers_mutex_
  bool delivery_posted_ = false;    // guarded by answers_mutex_
  std::vector<answer> delivering_;  // io thread only: reused between deliveries
  // Last: its threads stop and join first, before the members they use are destroyed.
  asio::thread_pool pool_;
};

}  // namespace parley::registry

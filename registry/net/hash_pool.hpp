// The password-hashing pool: Argon2id is slow on purpose (tens of milliseconds and tens of MiB
// per call), so it never runs on the io thread, where it would stall every other session. Jobs
// run on a small thread pool and their answers are posted back to the io_context.
#pragma once

#include "registry/auth/password_hash.hpp"
#include "registry/core/registry_core.hpp"

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace parley::registry {

class hash_pool {
 public:
  // Runs on the io thread with the job's answer.
  using completion = std::function<void(hash_done result)>;

  // Each thread may hold one Argon2id working area (64 MiB at `interactive`, 256 at `moderate`).
  static constexpr std::size_t max_threads = 64;

  // One thread fewer than the machine has cores, so the io thread keeps one; at least one.
  static std::size_t default_threads();

  hash_pool(asio::io_context& io, std::size_t threads, auth::hash_cost cost);
  // Drops the jobs not yet started and waits for the running ones.
  ~hash_pool();
  hash_pool(const hash_pool&) = delete;
  hash_pool& operator=(const hash_pool&) = delete;

  // Runs the job on a pool thread, then posts `done` to the io_context. The password is moved
  // out of `job` (and the moved-from string wiped); the pool wipes its own copy once it is used,
  // or when the job is dropped unstarted at shutdown.
  void submit(hash_job&& job, completion done);

  // Start-up only, before the io_context runs: hashes every password in parallel on the pool
  // and blocks the calling thread until all are done. nullopt where libsodium failed. The
  // passwords are wiped.
  std::vector<std::optional<std::string>> hash_all(std::vector<std::string>& passwords);

  std::size_t threads() const { return threads_; }
  auth::hash_cost cost() const { return cost_; }

 private:
  asio::io_context& io_;
  std::size_t threads_;
  auth::hash_cost cost_;
  asio::thread_pool pool_;
};

// Overwrites a string's whole buffer (not only its current size) with zeros and empties it.
void wipe(std::string& secret);

}  // namespace parley::registry

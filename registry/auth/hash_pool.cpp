#include "registry/auth/hash_pool.hpp"

#include "registry/auth/secret.hpp"

#include <asio/post.hpp>

#include <algorithm>
#include <iterator>
#include <latch>
#include <memory>
#include <thread>
#include <utility>

namespace parley::registry {
namespace {

// A job as the pool holds it: on the heap, so moving it between queues never copies the
// password, and wiped however it ends (run, or dropped unstarted when the pool stops).
struct pending_job {
  hash_job job;
  ~pending_job() { wipe(job.password); }
};

hash_done run_job(const hash_job& job, auth::hash_cost cost) {
  hash_done result;
  result.session = job.session;
  result.ticket = job.ticket;
  if (job.what == hash_job::kind::verify) {
    result.ok = auth::verify_password(job.stored_hash, job.password);
    // A hash made at another cost than the registry's now (--hash-cost changed) is made anew
    // while the password is at hand; the core stores it. Only after a match: a wrong password
    // costs no second hash.
    if (result.ok && auth::needs_rehash(job.stored_hash, cost)) {
      if (auto fresh = auth::hash_password(job.password, cost)) result.hash = std::move(*fresh);
    }
  } else if (auto hash = auth::hash_password(job.password, cost)) {
    result.ok = true;
    result.hash = std::move(*hash);
  }
  return result;
}

}  // namespace

std::size_t hash_pool::default_threads() {
  const std::size_t cores = std::thread::hardware_concurrency();
  return std::clamp<std::size_t>(cores > 1 ? cores - 1 : 1, 1, max_threads);
}

hash_pool::hash_pool(asio::io_context& io, std::size_t threads, auth::hash_cost cost)
    : io_(io),
      threads_(std::clamp<std::size_t>(threads, 1, max_threads)),
      cost_(cost),
      pool_(threads_) {}

hash_pool::~hash_pool() {
  pool_.stop();
  pool_.join();
}

void hash_pool::submit(hash_job&& job, completion done) {
  auto pending = std::make_unique<pending_job>();
  pending->job = std::move(job);
  wipe(job.password);
  asio::post(pool_, [this, pending = std::move(pending), done = std::move(done)]() mutable {
    auto result = run_job(pending->job, cost_);
    // Wipe now rather than when the lambda is destroyed: the answer may wait for its delivery.
    pending.reset();
    finished(answer{std::move(done), std::move(result)});
  });
}

void hash_pool::finished(answer&& a) {
  const std::lock_guard lock(answers_mutex_);
  answers_.push_back(std::move(a));
  if (delivery_posted_) return;
  delivery_posted_ = true;
  asio::post(io_, [this] { deliver(); });
}

void hash_pool::deliver() {
  {
    const std::lock_guard lock(answers_mutex_);
    // At most max_answers_per_delivery at once: the notices of one batch are held for every
    // online session until written, so the batch bounds that memory. The rest waits for the
    // next delivery, posted behind the writes of this one.
    const auto take = std::min(answers_.size(), max_answers_per_delivery);
    std::move(answers_.begin(), answers_.begin() + static_cast<std::ptrdiff_t>(take),
              std::back_inserter(delivering_));
    answers_.erase(answers_.begin(), answers_.begin() + static_cast<std::ptrdiff_t>(take));
    delivery_posted_ = !answers_.empty();
    if (delivery_posted_) asio::post(io_, [this] { deliver(); });
  }
  for (auto& a : delivering_) a.done(std::move(a.result));
  delivering_.clear();
}

std::vector<std::optional<std::string>> hash_pool::hash_all(std::vector<std::string>& passwords) {
  std::vector<std::optional<std::string>> hashes(passwords.size());
  std::latch finished(static_cast<std::ptrdiff_t>(passwords.size()));
  for (std::size_t i = 0; i < passwords.size(); ++i) {
    // Each job writes only its own slot, and the latch orders those writes before the wait ends.
    asio::post(pool_, [this, &passwords, &hashes, &finished, i] {
      hashes[i] = auth::hash_password(passwords[i], cost_);
      finished.count_down();
    });
  }
  finished.wait();
  for (auto& password : passwords) wipe(password);
  return hashes;
}

}  // namespace parley::registry

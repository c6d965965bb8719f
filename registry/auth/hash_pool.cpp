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

hash_done run_job(const hash_job& job, auth::hash_cost cost) {
  hash_done result;
  result.session = job.session;
  result.ticket = job.ticket;
  if (job.what == hash_job::kind::verify) {
    result.ok = auth::verify_password(job.stored_hash, job.password);
    // A hash made at another cost than the registry's now (--hash-cost changed) is made anew
    // while the password is at hand; the core stores it. Only after a match: a wrong password
    // costs no second hash.
    if (result.ok && job.rehash && auth::needs_rehash(job.stored_hash, cost)) {
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

hash_pool::hash_pool(asio::io_context& io, std::size_t threads, auth::hash_cost cost,
                     hash_queue_limits limits)
    : io_(io),
      threads_(std::clamp<std::size_t>(threads, 1, max_threads)),
      cost_(cost),
      limits_(limits),
      queue_(limits),
      pool_(threads_) {}

hash_pool::~hash_pool() {
  {
    // Runners finish the job in hand and take no other.
    const std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  pool_.stop();
  pool_.join();
}

void hash_pool::submit(hash_job&& job, completion done) {
  auto queued = std::make_unique<queued_job>();
  queued->job = std::move(job);
  queued->done = std::move(done);
  wipe(job.password);
  {
    const std::lock_guard lock(queue_mutex_);
    if (queue_.push(queued) == hash_queue::admission::queued) {
      // One runner per thread at most; a runner that finds nothing to start returns.
      if (runners_ < threads_ && !stopping_) {
        ++runners_;
        asio::post(pool_, [this] { run_jobs(); });
      }
      return;
    }
  }
  // Refused: answered like any other job, through the io thread, without hashing.
  hash_done refused;
  refused.session = queued->job.session;
  refused.ticket = queued->job.ticket;
  refused.refused = true;
  auto reply = std::move(queued->done);
  queued.reset();
  finished(answer{std::move(reply), std::move(refused)});
}

void hash_pool::cancel(session_id session) {
  const std::lock_guard lock(queue_mutex_);
  queue_.cancel(session);
}

std::size_t hash_pool::waiting() {
  const std::lock_guard lock(queue_mutex_);
  return queue_.waiting();
}

void hash_pool::run_jobs() {
  while (true) {
    queued_job_ptr queued;
    {
      const std::lock_guard lock(queue_mutex_);
      if (!stopping_) queued = queue_.next();
      if (!queued) {
        --runners_;
        return;
      }
    }
    auto result = run_job(queued->job, cost_);
    // Wipe now rather than when the answer has been delivered, which may take a while.
    wipe(queued->job.password);
    auto reply = std::move(queued->done);
    {
      const std::lock_guard lock(queue_mutex_);
      queue_.finished(queued->job.address);
    }
    queued.reset();
    finished(answer{std::move(reply), std::move(result)});
  }
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

#include "registry/store/store_worker.hpp"

#include "shared/util/overloaded.hpp"

#include <asio/post.hpp>

#include <algorithm>
#include <iterator>
#include <utility>

namespace parley::registry {

store_done execute(storage& store, store_job& job) {
  store_done done;
  done.ticket = job.ticket;
  namespace req = store_request;
  std::visit(
      overloaded{
          [&](req::add_account& r) { done.ok = store.add_account(r.name, r.password_hash, r.now); },
          [&](req::set_password_hash& r) {
            done.ok = store.set_password_hash(r.name, r.password_hash);
          },
          [&](req::set_lockout& r) {
            done.ok = store.set_lockout(r.name, r.failed_attempts, r.locked_until);
          },
          [&](req::add_block& r) { done.ok = store.add_block(r.blocker, r.blocked); },
          [&](req::remove_block& r) { done.ok = store.remove_block(r.blocker, r.blocked); },
          [&](req::store_offline& r) {
            done.ok = store.store_offline(r.recipient, r.sender, r.text, r.now);
          },
          [&](req::read_offline& r) {
            if (auto page = store.read_offline(r.recipient, r.after, r.max_rows, r.max_bytes)) {
              done.ok = true;
              done.rows = std::move(page->rows);
              done.more = page->more;
            }
          },
          [&](req::delete_offline& r) {
            if (const auto deleted = store.delete_offline(r.recipient, r.up_to)) {
              done.ok = true;
              done.changed = *deleted;
            }
          },
          [&](req::record_login& r) { done.ok = store.record_login(r.name, r.now); },
          [&](req::record_logout& r) { done.ok = store.record_logout(r.name, r.now); },
          [&](req::issue_ticket& r) { done.ok = store.issue_ticket(r.name, r.digest, r.now); },
          [&](req::end_ticket& r) { done.ok = store.end_ticket(r.name, r.now); },
          [&](req::revoke_ticket& r) { done.ok = store.revoke_ticket(r.name); },
      },
      job.what);
  return done;
}

store_worker::store_worker(asio::io_context& io, sqlite_store& store, completion done)
    : io_(io), store_(store), done_(std::move(done)), thread_([this] { run(); }) {}

store_worker::~store_worker() {
  {
    const std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_one();
  thread_.join();
}

void store_worker::submit(std::vector<store_job>& jobs) {
  if (jobs.empty()) return;
  {
    const std::lock_guard lock(queue_mutex_);
    if (queue_.empty()) {
      queue_.swap(jobs);
    } else {
      std::move(jobs.begin(), jobs.end(), std::back_inserter(queue_));
    }
  }
  jobs.clear();
  queue_ready_.notify_one();
}

void store_worker::run() {
  std::vector<store_job> batch;
  std::vector<store_done> answers;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      if (queue_.size() <= max_batch_jobs) {
        batch.swap(queue_);
      } else {
        const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(max_batch_jobs);
        std::move(queue_.begin(), end, std::back_inserter(batch));
        queue_.erase(queue_.begin(), end);
      }
    }
    run_batch(batch, answers);
    batch.clear();
    {
      const std::lock_guard lock(answers_mutex_);
      std::move(answers.begin(), answers.end(), std::back_inserter(answers_));
      if (!delivery_posted_) {
        delivery_posted_ = true;
        asio::post(io_, [this] { deliver(); });
      }
    }
    answers.clear();
  }
}

void store_worker::run_batch(std::vector<store_job>& batch, std::vector<store_done>& answers) {
  // A lone job needs no transaction of its own: SQLite commits one statement by itself.
  bool in_batch = batch.size() > 1 && store_.begin_batch();
  // Answers given inside the current transaction: if it is lost, so are they.
  std::size_t batch_start = answers.size();
  const auto lose_batch = [&] {
    for (std::size_t i = batch_start; i < answers.size(); ++i) answers[i].ok = false;
  };
  for (auto& job : batch) {
    answers.push_back(execute(store_, job));
    if (in_batch && !store_.in_batch()) {
      // SQLite rolled the transaction back by itself (a full disk, an I/O error): nothing of it
      // is stored. What is left gets a transaction of its own.
      lose_batch();
      batch_start = answers.size();
      in_batch = store_.begin_batch();
    }
  }
  if (in_batch && !store_.commit_batch()) lose_batch();
}

void store_worker::deliver() {
  {
    const std::lock_guard lock(answers_mutex_);
    delivering_.swap(answers_);
    delivery_posted_ = false;
  }
  done_(delivering_);
  delivering_.clear();
}

}  // namespace parley::registry

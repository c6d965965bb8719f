#include "registry/auth/hash_queue.hpp"

#include "registry/auth/secret.hpp"

#include <algorithm>
#include <utility>

namespace parley::registry {

queued_job::~queued_job() { wipe(job.password); }

hash_queue::admission hash_queue::push(queued_job_ptr& job) {
  if (limits_.max_waiting != 0 && waiting_ >= limits_.max_waiting) return admission::queue_full;
  if (!limits_.fair) {
    arrivals_.push_back(std::move(job));
    ++waiting_;
    return admission::queued;
  }
  const std::string& address = job->job.address;
  auto it = lines_.find(address);
  if (it != lines_.end() && limits_.max_waiting_per_address != 0 &&
      it->second.jobs.size() >= limits_.max_waiting_per_address)
    return admission::address_full;
  if (it == lines_.end()) it = lines_.try_emplace(address).first;
  line& l = it->second;
  // An address that has nothing waiting and nothing running waits for its turn from now on.
  if (l.jobs.empty() && !l.running) turns_.push_back(address);
  waiting_sessions_.insert_or_assign(job->job.session, address);
  l.jobs.push_back(std::move(job));
  ++waiting_;
  return admission::queued;
}

queued_job_ptr hash_queue::next() {
  if (!limits_.fair) {
    if (arrivals_.empty()) return nullptr;
    auto job = std::move(arrivals_.front());
    arrivals_.pop_front();
    --waiting_;
    return job;
  }
  while (!turns_.empty()) {
    const std::string address = std::move(turns_.front());
    turns_.pop_front();
    const auto it = lines_.find(address);
    if (it == lines_.end() || it->second.jobs.empty() || it->second.running) continue;
    line& l = it->second;
    auto job = std::move(l.jobs.front());
    l.jobs.pop_front();
    l.running = true;
    --waiting_;
    waiting_sessions_.erase(job->job.session);
    return job;
  }
  return nullptr;
}

void hash_queue::finished(const std::string& address) {
  if (!limits_.fair) return;
  const auto it = lines_.find(address);
  if (it == lines_.end()) return;
  it->second.running = false;
  // Its next job waits behind every address whose turn came meanwhile.
  if (it->second.jobs.empty())
    lines_.erase(it);
  else
    turns_.push_back(address);
}

std::size_t hash_queue::cancel(session_id session) {
  if (!limits_.fair) return 0;
  const auto found = waiting_sessions_.find(session);
  if (found == waiting_sessions_.end()) return 0;
  const std::string address = std::move(found->second);
  waiting_sessions_.erase(found);
  const auto it = lines_.find(address);
  if (it == lines_.end()) return 0;
  auto& jobs = it->second.jobs;
  const auto before = jobs.size();
  // Destroying the jobs wipes their passwords.
  std::erase_if(jobs, [session](const queued_job_ptr& j) { return j->job.session == session; });
  const std::size_t dropped = before - jobs.size();
  waiting_ -= dropped;
  if (jobs.empty() && !it->second.running) {
    lines_.erase(it);
    if (const auto turn = std::find(turns_.begin(), turns_.end(), address); turn != turns_.end())
      turns_.erase(turn);
  }
  return dropped;
}

}  // namespace parley::registry

#include "shared/net/queue_budget.hpp"

#include "shared/net/framed_connection.hpp"

#include <algorithm>
#include <string>

namespace parley::net {
namespace {

// Dropping stops a sixteenth of the budget below it (see queue_budget.hpp).
constexpr std::size_t low_water_fraction = 16;

}  // namespace

bool queue_budget::charge_over_limit(framed_connection& to, std::size_t bytes) {
  drop_slowest(bytes);
  if (!to.alive()) return false;
  total_ += bytes;
  return true;
}

void queue_budget::enforce() {
  if (limit_ != 0 && total_ > limit_) drop_slowest(0);
}

void queue_budget::add_waiting(framed_connection& connection) {
  auto& spill = *connection.spill_;
  if (spill.waiting_index != not_waiting) return;
  spill.waiting_index = static_cast<std::uint32_t>(waiting_.size());
  spill.waiting_since = ++waits_started_;
  waiting_.push_back(&connection);
}

void queue_budget::remove_waiting(framed_connection& connection) {
  if (!connection.spill_) return;
  auto& index = connection.spill_->waiting_index;
  if (index == not_waiting) return;
  framed_connection* last = waiting_.back();
  waiting_[index] = last;
  last->spill_->waiting_index = index;
  waiting_.pop_back();
  index = not_waiting;
}

void queue_budget::drop_slowest(std::size_t incoming) {
  const std::size_t low_water = limit_ - limit_ / low_water_fraction;
  candidates_.clear();
  for (auto* connection : waiting_)
    if (connection->alive() && connection->queued_bytes_ > 0) candidates_.push_back(connection);
  // A max-heap on "slower than": more bytes queued, then waiting since earlier.
  const auto less_slow = [](const framed_connection* a, const framed_connection* b) {
    if (a->queued_bytes_ != b->queued_bytes_) return a->queued_bytes_ < b->queued_bytes_;
    return a->spill_->waiting_since > b->spill_->waiting_since;
  };
  std::make_heap(candidates_.begin(), candidates_.end(), less_slow);
  auto end = candidates_.end();
  while (total_ + incoming > low_water && end != candidates_.begin()) {
    std::pop_heap(candidates_.begin(), end, less_slow);
    --end;
    framed_connection& slowest = **end;
    // Closing gives its bytes back to the total and takes it off the waiting list.
    slowest.close(close_cause::queue_budget,
                  std::to_string(slowest.queued_bytes_) +
                      " bytes queued, the most of any reader; all outgoing queues would hold " +
                      std::to_string(total_ + incoming) + " bytes, over the budget of " +
                      std::to_string(limit_));
  }
  candidates_.clear();
}

}  // namespace parley::net

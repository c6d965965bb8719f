#include "registry/core/address_budget.hpp"

#include <algorithm>

namespace parley::registry {

address_budget::address_budget(budget_rate rate, std::size_t max_addresses)
    : enabled_(rate.count != 0),
      interval_(enabled_ ? std::chrono::duration_cast<duration>(rate.per) /
                               static_cast<duration::rep>(rate.count)
                         : duration::zero()),
      tolerance_(interval_ * static_cast<duration::rep>(std::max<std::size_t>(rate.burst, 1))),
      max_addresses_(std::max<std::size_t>(max_addresses, 1)) {}

time_point address_budget::full_at(std::string_view address, time_point now) const {
  const auto it = full_at_.find(address);
  if (it == full_at_.end()) return now;
  return std::clamp(it->second, now, now + tolerance_);
}

bool address_budget::available(std::string_view address, time_point now) const {
  if (!enabled_) return true;
  return full_at(address, now) + interval_ - now <= tolerance_;
}

bool address_budget::take(const std::string& address, time_point now) {
  if (!enabled_) return true;
  forget_full(now);
  // After the wall clock was set back, the bucket refills from this attempt on (as if emptied
  // now) rather than from the later moment it was set for.
  if (const auto it = full_at_.find(address); it != full_at_.end() && it->second > now + tolerance_)
    set(address, now + tolerance_, now);
  const time_point when = full_at(address, now) + interval_;
  if (when - now > tolerance_) return false;
  set(address, when, now);
  return true;
}

void address_budget::give_back(std::string_view address, time_point now) {
  if (!enabled_) return;
  const auto it = full_at_.find(address);
  if (it == full_at_.end()) return;
  const time_point when = full_at(address, now) - interval_;
  by_time_.erase({it->second, it->first});
  if (when <= now) {
    full_at_.erase(it);
    return;
  }
  it->second = when;
  by_time_.emplace(when, it->first);
}

void address_budget::set(const std::string& address, time_point when, time_point now) {
  auto it = full_at_.find(address);
  if (it != full_at_.end()) {
    by_time_.erase({it->second, it->first});
    it->second = when;
  } else {
    // Bounded before the entry is made: the bucket nearest to full goes.
    forget_full(now);
    if (full_at_.size() >= max_addresses_) {
      const auto soonest = by_time_.begin();
      full_at_.erase(full_at_.find(soonest->second));
      by_time_.erase(soonest);
    }
    it = full_at_.emplace(address, when).first;
  }
  by_time_.emplace(when, it->first);
}

void address_budget::forget_full(time_point now) {
  while (!by_time_.empty() && by_time_.begin()->first <= now) {
    const auto soonest = by_time_.begin();
    full_at_.erase(full_at_.find(soonest->second));
    by_time_.erase(soonest);
  }
}

}  // namespace parley::registry

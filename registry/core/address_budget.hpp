// Private to the registry core: SPEC 9.1's per-address budgets (failed passwords, new accounts),
// each a token bucket per IP address. Pure logic: the caller passes the time.
//
// A bucket is kept as one moment, the time at which it will be full again (the "theoretical
// arrival time" of the generic cell rate algorithm): each token spent pushes it one refill
// interval later, and a token is there as long as that moment lies less than the burst's worth
// of intervals ahead. An address whose bucket is full is not stored at all, so only addresses
// that spent something recently take memory, and at most `max_addresses` of them: past that the
// bucket closest to full is forgotten (treated as full), which gives that address back at most a
// few tokens.
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/registry_core.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace parley::registry {

class address_budget {
 public:
  address_budget(budget_rate rate, std::size_t max_addresses);

  bool enabled() const { return enabled_; }

  // Whether the address has a token at `now` (nothing is spent).
  bool available(std::string_view address, time_point now) const;
  // Spends one token: false, and nothing spent, when there is none.
  bool take(const std::string& address, time_point now);
  // Undoes one take(): the attempt it paid for turned out not to count.
  void give_back(std::string_view address, time_point now);

  // Addresses with a bucket that is not full (for tests and logs).
  std::size_t tracked() const { return full_at_.size(); }

 private:
  using duration = clock::duration;
  // When the address's bucket is full again: `now` or earlier means full. Never more than the
  // burst's worth of intervals ahead, even after the wall clock was set back.
  time_point full_at(std::string_view address, time_point now) const;
  void set(const std::string& address, time_point when, time_point now);
  void forget_full(time_point now);

  bool enabled_;
  duration interval_;   // one token's refill time
  duration tolerance_;  // burst * interval: how far ahead full_at may be with a token left
  std::size_t max_addresses_;
  std::map<std::string, time_point, std::less<>> full_at_;
  // The same entries by time, soonest full first; the views point into full_at_'s keys.
  std::set<std::pair<time_point, std::string_view>> by_time_;
};

}  // namespace parley::registry

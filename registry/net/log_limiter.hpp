// A warning that an attacker could make fire thousands of times a second (a refused connection,
// a dropped slow reader, an oversized frame): logged at most once per interval, and the line
// says how many like it were not logged since the last one. One limiter per kind of event, so
// a flood of one kind never hides the first line of another.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace parley::registry {

class log_limiter {
 public:
  using clock = std::chrono::steady_clock;

  explicit log_limiter(clock::duration interval = std::chrono::seconds{1}) : interval_(interval) {}

  // Counts one event; true when it is to be logged now (then suffix() names the ones skipped).
  bool admit(clock::time_point now) {
    ++pending_;
    if (logged_once_ && now - last_ < interval_) return false;
    logged_once_ = true;
    last_ = now;
    skipped_ = pending_ - 1;
    pending_ = 0;
    return true;
  }

  // " (N more since the last report)" after admit() returned true, when events were skipped.
  std::string suffix() const {
    if (skipped_ == 0) return {};
    return " (" + std::to_string(skipped_) + " more since the last report)";
  }

 private:
  clock::duration interval_;
  clock::time_point last_{};
  std::size_t pending_ = 0;
  std::size_t skipped_ = 0;
  bool logged_once_ = false;
};

}  // namespace parley::registry

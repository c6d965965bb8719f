// Private to the registry core: when the next session may be due for a login deadline or an
// inactivity timeout, without scanning every session.
//
// A min-heap of (deadline, session) with lazy invalidation. Entries are never updated in place:
// activity only moves a session's real deadline later, so an entry may be early but never late.
// When an early entry comes due, the caller re-pushes the session at its real deadline. A
// session therefore has at most a couple of entries, and a message costs no heap work.
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/registry_core.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace parley::registry {

class deadline_queue {
 public:
  void push(time_point when, session_id session) { heap_.push(entry{when, session}); }

  // The earliest entry; it may belong to a session that has gone or has moved its deadline
  // later, so it is a moment worth waking up at, not a promise of work.
  std::optional<time_point> earliest() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.top().when;
  }

  // Removes every entry due at `now` and calls `due(session)` for each, earliest first. `due`
  // may push again; an entry it pushes at or before `now` is handed back in the same call.
  template <class Due>
  void pop_due(time_point now, Due&& due) {
    while (!heap_.empty() && heap_.top().when <= now) {
      const session_id session = heap_.top().session;
      heap_.pop();
      due(session);
    }
  }

  std::size_t size() const { return heap_.size(); }

 private:
  struct entry {
    time_point when;
    session_id session;
    bool operator>(const entry& other) const { return when > other.when; }
  };
  std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
};

}  // namespace parley::registry

#include "registry/core/lockout.hpp"

namespace parley::registry {

bool lockout::is_locked(const std::string& name, account& a, time_point now) {
  if (a.locked_until > now) return true;
  if (a.locked_until != time_point{}) {
    // Memory follows even if the write fails: the store still has the older, stricter state.
    store_.ask(store_request::set_lockout{name, 0, time_point{}});
    a.failed_attempts = 0;
    a.locked_until = time_point{};
  }
  return false;
}

bool lockout::record_failure(session_id id, const std::string& name, account& a, time_point now) {
  const int failures = a.failed_attempts + 1;
  const bool locks = failures >= max_failed_attempts_;
  const time_point until = locks ? now + block_duration_ : time_point{};
  // Memory counts the failure even if the write fails: a broken disk must not open the door to
  // unlimited guesses.
  store_.ask_before_reply(id, store_request::set_lockout{name, failures, until},
                          store_waiter{.what = store_waiter::kind::ordered});
  a.failed_attempts = failures;
  a.locked_until = until;
  return locks;
}

void lockout::record_success(const std::string& name, account& a) {
  if (a.failed_attempts == 0) return;
  store_.ask(store_request::set_lockout{name, 0, time_point{}});
  a.failed_attempts = 0;
}

}  // namespace parley::registry

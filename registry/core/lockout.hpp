// Private to the registry core: SPEC 3.4's lockout. It is data (`failed_attempts`,
// `locked_until`) compared with `now`, not a timer; this class is the one place that reads or
// changes it, in memory and in the store.
#pragma once

#include "registry/core/durable.hpp"

#include "registry/core/accounts.hpp"
#include "registry/core/clock.hpp"
#include "registry/core/storage.hpp"

#include <chrono>
#include <string>

namespace parley::registry {

class lockout {
 public:
  lockout(durable& store, int max_failed_attempts, std::chrono::seconds block_duration)
      : store_(store), max_failed_attempts_(max_failed_attempts), block_duration_(block_duration) {}

  // Whether the account is locked at `now`. A lockout whose time has passed ends here, and only
  // here: the failure count starts again from zero.
  bool is_locked(const std::string& name, account& a, time_point now);

  // A wrong password on session `id`. True when this failure locks the account (the 3rd in a
  // row, by default). The session's reply waits for the count to be committed, so no crash can
  // forget a failure its user was told about.
  bool record_failure(session_id id, const std::string& name, account& a, time_point now);

  // A right password: the count of consecutive failures starts again.
  void record_success(const std::string& name, account& a);

 private:
  durable& store_;
  int max_failed_attempts_;
  std::chrono::seconds block_duration_;
};

}  // namespace parley::registry

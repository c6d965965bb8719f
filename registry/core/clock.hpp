#pragma once

#include <chrono>
#include <cstdint>

namespace parley::registry {

// Wall-clock time: lockouts and logout times are persisted and must mean the same after a
// restart. The core never reads a clock; the shell passes `now` into every call.
using clock = std::chrono::system_clock;
using time_point = clock::time_point;

inline std::int64_t to_unix_ms(time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
// A stored time (milliseconds since the epoch) as a time_point. The clock counts nanoseconds in
// 64 bits (about 292 years either side of 1970), so a value beyond that (a database edited or
// damaged by hand: the loader's fuzz target found one) saturates at the end of the range instead
// of overflowing: a lockout "until the year 3000" stays a lockout for as long as time can tell.
inline time_point from_unix_ms(std::int64_t ms) {
  using std::chrono::milliseconds;
  constexpr auto lowest = std::chrono::duration_cast<milliseconds>(clock::duration::min()).count();
  constexpr auto highest = std::chrono::duration_cast<milliseconds>(clock::duration::max()).count();
  if (ms <= lowest) return time_point(clock::duration::min());
  if (ms >= highest) return time_point(clock::duration::max());
  return time_point(std::chrono::duration_cast<clock::duration>(milliseconds(ms)));
}

}  // namespace parley::registry

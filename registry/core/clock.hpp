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
inline time_point from_unix_ms(std::int64_t ms) {
  return time_point(std::chrono::duration_cast<clock::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace parley::registry

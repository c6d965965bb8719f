#include "registry/net/log_limiter.hpp"

#include <doctest/doctest.h>

using parley::registry::log_limiter;
using namespace std::chrono_literals;

TEST_CASE("log_limiter: the first event is logged, then at most one per interval with a count") {
  log_limiter limiter{1s};
  const log_limiter::clock::time_point start{};
  CHECK(limiter.admit(start));
  CHECK(limiter.suffix().empty());
  CHECK_FALSE(limiter.admit(start + 100ms));
  CHECK_FALSE(limiter.admit(start + 900ms));
  CHECK(limiter.admit(start + 1s));
  CHECK(limiter.suffix() == " (2 more since the last report)");
  CHECK(limiter.admit(start + 5s));
  CHECK(limiter.suffix().empty());
}

// The per-address token buckets of SPEC 9.1, on a fake clock.
#include "registry/core/address_budget.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace parley::registry {
namespace {

using namespace std::chrono_literals;

time_point t0() { return from_unix_ms(1'700'000'000'000); }

// How many takes succeed in a row at `now`.
int drain(address_budget& budget, const std::string& address, time_point now) {
  int taken = 0;
  while (budget.take(address, now)) {
    ++taken;
    REQUIRE(taken <= 100000);
  }
  return taken;
}

TEST_CASE("address budget: a burst, then one token per interval") {
  // SPEC 9.1's failed-password default: 30 a minute, burst 60.
  address_budget budget({30, 60s, 60}, 100);
  CHECK(budget.enabled());
  CHECK(drain(budget, "10.0.0.1", t0()) == 60);
  CHECK_FALSE(budget.available("10.0.0.1", t0()));
  // One token every 2 s, not before.
  CHECK_FALSE(budget.take("10.0.0.1", t0() + 1999ms));
  CHECK(budget.take("10.0.0.1", t0() + 2s));
  CHECK_FALSE(budget.take("10.0.0.1", t0() + 2s));
  CHECK(drain(budget, "10.0.0.1", t0() + 10s) == 4);
  // Other addresses have their own buckets.
  CHECK(drain(budget, "10.0.0.2", t0() + 10s) == 60);
  // Refilled to the burst, never beyond it.
  CHECK(drain(budget, "10.0.0.1", t0() + 1h) == 60);
}

TEST_CASE("address budget: available() spends nothing, give_back() undoes a take") {
  address_budget budget({1, 3600s, 2}, 100);
  CHECK(budget.available("a", t0()));
  CHECK(budget.available("a", t0()));
  CHECK(budget.take("a", t0()));
  CHECK(budget.take("a", t0()));
  CHECK_FALSE(budget.available("a", t0()));
  budget.give_back("a", t0() + 1s);
  CHECK(budget.take("a", t0() + 1s));
  CHECK_FALSE(budget.take("a", t0() + 1s));
  // Giving back more than was taken never makes more than a full bucket.
  for (int i = 0; i < 5; ++i) budget.give_back("a", t0() + 2s);
  CHECK(budget.tracked() == 0);
  CHECK(drain(budget, "a", t0() + 2s) == 2);
}

TEST_CASE("address budget: count 0 turns it off") {
  address_budget budget({0, 60s, 60}, 100);
  CHECK_FALSE(budget.enabled());
  for (int i = 0; i < 1000; ++i) REQUIRE(budget.take("a", t0()));
  CHECK(budget.available("a", t0()));
  CHECK(budget.tracked() == 0);
}

TEST_CASE("address budget: its memory is bounded") {
  SUBCASE("full buckets are forgotten") {
    address_budget budget({30, 60s, 60}, 100);
    for (int i = 0; i < 50; ++i) REQUIRE(budget.take("10.0.0." + std::to_string(i), t0()));
    CHECK(budget.tracked() == 50);
    // One token back every 2 s: after that, every bucket is full again and is dropped at the
    // next change.
    REQUIRE(budget.take("10.0.1.1", t0() + 2s));
    CHECK(budget.tracked() == 1);
  }
  SUBCASE("past max_addresses the bucket nearest to full is forgotten") {
    address_budget budget({30, 60s, 60}, 3);
    CHECK(drain(budget, "a", t0()) == 60);  // empty: full again in 120 s
    REQUIRE(budget.take("b", t0()));        // 59 left: full in 2 s
    CHECK(drain(budget, "c", t0()) == 60);
    CHECK(budget.tracked() == 3);
    REQUIRE(budget.take("d", t0()));
    CHECK(budget.tracked() == 3);
    // "b" was the one forgotten; the empty buckets stayed.
    CHECK_FALSE(budget.available("a", t0()));
    CHECK_FALSE(budget.available("c", t0()));
    CHECK(drain(budget, "b", t0()) == 60);
  }
}

TEST_CASE("address budget: a wall clock set back never refuses for longer than the burst") {
  address_budget budget({30, 60s, 60}, 100);
  CHECK(drain(budget, "a", t0()) == 60);
  const time_point earlier = t0() - 1h;
  CHECK_FALSE(budget.available("a", earlier));
  CHECK_FALSE(budget.take("a", earlier));
  // From that attempt on, the bucket refills as if it had just been emptied (60 tokens, 2 s
  // each), not an hour later.
  CHECK_FALSE(budget.take("a", earlier + 1s));
  CHECK(budget.take("a", earlier + 2s));
  CHECK(drain(budget, "a", earlier + 120s) == 59);
}

}  // namespace
}  // namespace parley::registry

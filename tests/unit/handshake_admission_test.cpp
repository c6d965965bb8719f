// The private-chat listener's admission of pending handshakes (SPEC 8.8): bounded per source
// address and in total, and never full for an address the registry named for an expected
// requester.
#include "peer/core/handshake_admission.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace parley::peer {
namespace {

using refusal = handshake_admission::refusal;
using ticket = handshake_admission::ticket;

constexpr const char* attacker = "127.0.0.2";
constexpr const char* requester = "127.0.0.1";
constexpr const char* stranger = "127.0.0.3";

// Admits `count` handshakes from `address`, each of which must get in; their tickets.
std::vector<ticket> fill(handshake_admission& admission, const std::string& address, int count) {
  std::vector<ticket> tickets;
  for (int i = 0; i < count; ++i) {
    const auto verdict = admission.admit(address, false);
    REQUIRE(verdict.admitted);
    CHECK_FALSE(verdict.evicted);
    tickets.push_back(*verdict.admitted);
  }
  return tickets;
}

}  // namespace

TEST_CASE("handshake admission: the defaults are 8 per address and 64 in all") {
  const handshake_limits limits;
  CHECK(limits.per_address == 8);
  CHECK(limits.total == 64);
}

TEST_CASE("handshake admission: one address holds at most its share, others still get in") {
  handshake_admission admission({4, 16});
  fill(admission, attacker, 4);
  const auto fifth = admission.admit(attacker, false);
  CHECK_FALSE(fifth.admitted);
  CHECK_FALSE(fifth.evicted);
  CHECK(fifth.refused == refusal::per_address);
  CHECK(admission.pending_from(attacker) == 4);

  // Room is left for everyone else.
  const auto other = admission.admit(stranger, false);
  CHECK(other.admitted);
  CHECK(other.refused == refusal::none);
  CHECK(admission.pending() == 5);
}

TEST_CASE("handshake admission: a released place is free again, once") {
  handshake_admission admission({2, 16});
  const auto held = fill(admission, attacker, 2);
  CHECK_FALSE(admission.admit(attacker, false).admitted);
  admission.release(held[0]);
  // Releasing twice, or a ticket never issued, changes nothing.
  admission.release(held[0]);
  admission.release(9999);
  CHECK(admission.pending_from(attacker) == 1);
  CHECK(admission.admit(attacker, false).admitted);
  CHECK_FALSE(admission.admit(attacker, false).admitted);
}

TEST_CASE("handshake admission: the total bound holds across addresses") {
  handshake_admission admission({2, 5});
  fill(admission, "127.0.0.10", 2);
  fill(admission, "127.0.0.11", 2);
  fill(admission, "127.0.0.12", 1);
  const auto full = admission.admit("127.0.0.13", false);
  CHECK_FALSE(full.admitted);
  CHECK(full.refused == refusal::total);
  CHECK(admission.pending() == 5);
}

TEST_CASE("handshake admission: per address 0 leaves only the total") {
  handshake_admission admission({0, 6});
  fill(admission, attacker, 6);
  const auto full = admission.admit(attacker, false);
  CHECK_FALSE(full.admitted);
  CHECK(full.refused == refusal::total);
  // Nor can anyone else get in: that is what the bound per address prevents.
  CHECK_FALSE(admission.admit(stranger, false).admitted);
}

TEST_CASE("handshake admission: a total of 0 is taken as 1") {
  handshake_admission admission({0, 0});
  CHECK(admission.limits().total == 1);
  CHECK(admission.admit(stranger, false).admitted);
  CHECK_FALSE(admission.admit(stranger, false).admitted);
}

TEST_CASE("handshake admission: an expected requester gets in when every place is taken") {
  // Many attacking addresses, each within its share, fill every place.
  handshake_admission admission({2, 6});
  const auto first = fill(admission, "127.0.0.10", 2);
  fill(admission, "127.0.0.11", 2);
  fill(admission, "127.0.0.12", 2);
  CHECK_FALSE(admission.admit(requester, false).admitted);

  const auto verdict = admission.admit(requester, true);
  REQUIRE(verdict.admitted);
  // The oldest pending handshake made way, and the total still holds.
  REQUIRE(verdict.evicted);
  CHECK(*verdict.evicted == first[0]);
  CHECK(verdict.refused == refusal::none);
  CHECK(admission.pending() == 6);
  CHECK(admission.pending_from("127.0.0.10") == 1);
  CHECK(admission.pending_from(requester) == 1);
  // The evicted ticket is forgotten: releasing it later frees nothing.
  admission.release(*verdict.evicted);
  CHECK(admission.pending() == 6);
}

TEST_CASE("handshake admission: with no bound per address, one address's oldest makes way") {
  handshake_admission admission({0, 4});
  const auto held = fill(admission, attacker, 4);
  const auto verdict = admission.admit(requester, true);
  REQUIRE(verdict.admitted);
  REQUIRE(verdict.evicted);
  CHECK(*verdict.evicted == held[0]);
  CHECK(admission.pending_from(attacker) == 3);
  // The next expected one takes the next oldest of the attacker's, never its own.
  const auto again = admission.admit(requester, true);
  REQUIRE(again.evicted);
  CHECK(*again.evicted == held[1]);
  CHECK(admission.pending_from(requester) == 2);
}

TEST_CASE("handshake admission: an expected address over its share gives up its own oldest") {
  // The attacker shares the requester's address (one NAT): the bound per address still holds,
  // and the newest connection, the one that may be the requester's, gets in.
  handshake_admission admission({3, 16});
  const auto held = fill(admission, requester, 3);
  fill(admission, stranger, 2);
  const auto verdict = admission.admit(requester, true);
  REQUIRE(verdict.admitted);
  REQUIRE(verdict.evicted);
  CHECK(*verdict.evicted == held[0]);
  CHECK(admission.pending_from(requester) == 3);
  CHECK(admission.pending_from(stranger) == 2);
}

TEST_CASE("handshake admission: an expected requester with room takes nobody's place") {
  handshake_admission admission({4, 16});
  fill(admission, attacker, 4);
  const auto verdict = admission.admit(requester, true);
  CHECK(verdict.admitted);
  CHECK_FALSE(verdict.evicted);
  CHECK(admission.pending() == 5);
}

TEST_CASE("handshake admission: tickets are distinct and follow the order of arrival") {
  handshake_admission admission({0, 8});
  const auto a = fill(admission, attacker, 3);
  const auto b = fill(admission, stranger, 3);
  for (std::size_t i = 1; i < a.size(); ++i) CHECK(a[i - 1] < a[i]);
  CHECK(a.back() < b.front());
}

}  // namespace parley::peer

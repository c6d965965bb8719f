#include "registry/auth/password_hash.hpp"

#include <doctest/doctest.h>

#include <string>

namespace auth = parley::registry::auth;

namespace {

// The cheapest Argon2id parameters keep these tests fast; only one test pays for `interactive`.
std::string test_hash(std::string_view password) {
  REQUIRE(auth::initialize());
  auto hash = auth::hash_password(password, auth::hash_cost::test);
  REQUIRE(hash.has_value());
  return *hash;
}

}  // namespace

TEST_CASE("password_hash: cost names parse and print") {
  CHECK(auth::parse_hash_cost("interactive") == auth::hash_cost::interactive);
  CHECK(auth::parse_hash_cost("moderate") == auth::hash_cost::moderate);
  CHECK(auth::parse_hash_cost("test") == auth::hash_cost::test);
  CHECK_FALSE(auth::parse_hash_cost("").has_value());
  CHECK_FALSE(auth::parse_hash_cost("Interactive").has_value());
  CHECK_FALSE(auth::parse_hash_cost("sensitive").has_value());
  CHECK_FALSE(auth::parse_hash_cost("test ").has_value());
  for (auto cost :
       {auth::hash_cost::interactive, auth::hash_cost::moderate, auth::hash_cost::test}) {
    CHECK(auth::parse_hash_cost(auth::to_string(cost)) == cost);
  }
}

TEST_CASE("password_hash: initialize may be called more than once") {
  CHECK(auth::initialize());
  CHECK(auth::initialize());
}

TEST_CASE("password_hash: a hash verifies its own password and no other") {
  const auto hash = test_hash("correct horse");
  CHECK(hash.starts_with("$argon2id$"));
  CHECK(hash.find("correct horse") == std::string::npos);
  CHECK(auth::verify_password(hash, "correct horse"));
  CHECK_FALSE(auth::verify_password(hash, "correct horsE"));
  CHECK_FALSE(auth::verify_password(hash, "correct horse "));
  CHECK_FALSE(auth::verify_password(hash, ""));
}

TEST_CASE("password_hash: the `test` cost is Argon2id's minimum") {
  const auto hash = test_hash("pw");
  // 8 KiB of memory, one pass, one lane.
  CHECK(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
}

TEST_CASE("password_hash: the same password hashes differently each time (random salt)") {
  const auto first = test_hash("same");
  const auto second = test_hash("same");
  CHECK(first != second);
  CHECK(auth::verify_password(first, "same"));
  CHECK(auth::verify_password(second, "same"));
}

TEST_CASE("password_hash: a malformed stored hash never verifies") {
  REQUIRE(auth::initialize());
  const auto hash = test_hash("pw");
  CHECK_FALSE(auth::verify_password("", "pw"));
  CHECK_FALSE(auth::verify_password("pw", "pw"));
  CHECK_FALSE(auth::verify_password(hash.substr(0, hash.size() - 4), "pw"));
  CHECK_FALSE(auth::verify_password(hash + std::string(200, 'A'), "pw"));
  CHECK_FALSE(auth::verify_password(std::string(hash).insert(5, 1, '\0'), "pw"));
}

TEST_CASE("password_hash: needs_rehash compares the stored parameters with the asked cost") {
  const auto cheap = test_hash("pw");
  CHECK_FALSE(auth::needs_rehash(cheap, auth::hash_cost::test));
  CHECK(auth::needs_rehash(cheap, auth::hash_cost::interactive));
  CHECK(auth::needs_rehash(cheap, auth::hash_cost::moderate));
  CHECK(auth::needs_rehash("", auth::hash_cost::test));
  CHECK(auth::needs_rehash("$argon2i$v=19$m=8,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
                           auth::hash_cost::test));

  // The one real-cost hash of the suite: the registry's default must round-trip too.
  const auto real = auth::hash_password("pw", auth::hash_cost::interactive);
  REQUIRE(real.has_value());
  CHECK(auth::verify_password(*real, "pw"));
  CHECK_FALSE(auth::needs_rehash(*real, auth::hash_cost::interactive));
  CHECK(auth::needs_rehash(*real, auth::hash_cost::moderate));
  CHECK(auth::needs_rehash(*real, auth::hash_cost::test));
}

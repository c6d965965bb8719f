#include "registry/auth/password_hash.hpp"

#include <sodium.h>

#include <array>
#include <cstddef>

namespace parley::registry::auth {
namespace {

// libsodium's Argon2id limits for one cost level.
struct argon2id_limits {
  unsigned long long opslimit;
  std::size_t memlimit;
};

// Argon2id's own minima (1 pass, 8 KiB) rather than the generic crypto_pwhash_*_MIN, which
// would change meaning if libsodium ever changed its default algorithm.
argon2id_limits limits_for(hash_cost cost) {
  switch (cost) {
    case hash_cost::interactive:
      return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
              crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
    case hash_cost::moderate:
      return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE, crypto_pwhash_argon2id_MEMLIMIT_MODERATE};
    case hash_cost::test:
      return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
  }
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

// libsodium reads the encoded hash as a C string of fewer than crypto_pwhash_STRBYTES bytes;
// copying it into a buffer of that size bounds the read and supplies the terminator.
using encoded_hash = std::array<char, crypto_pwhash_STRBYTES>;

bool to_encoded_hash(std::string_view stored_hash, encoded_hash& out) {
  if (stored_hash.size() >= out.size()) return false;
  if (stored_hash.find('\0') != std::string_view::npos) return false;
  out.fill('\0');
  stored_hash.copy(out.data(), stored_hash.size());
  return true;
}

}  // namespace

std::optional<hash_cost> parse_hash_cost(std::string_view name) {
  if (name == "interactive") return hash_cost::interactive;
  if (name == "moderate") return hash_cost::moderate;
  if (name == "test") return hash_cost::test;
  return std::nullopt;
}

const char* to_string(hash_cost cost) {
  switch (cost) {
    case hash_cost::interactive: return "interactive";
    case hash_cost::moderate: return "moderate";
    case hash_cost::test: return "test";
  }
  return "interactive";
}

bool initialize() {
  // 0: initialised now; 1: already initialised (safe to call again); -1: failure.
  return sodium_init() >= 0;
}

std::optional<std::string> hash_password(std::string_view password, hash_cost cost) {
  const auto limits = limits_for(cost);
  encoded_hash out{};
  // The only failure is libsodium not getting its memlimit worth of memory.
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), limits.opslimit,
                            limits.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return std::nullopt;
  }
  return std::string(out.data());
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
  encoded_hash encoded{};
  if (!to_encoded_hash(stored_hash, encoded)) return false;
  // The parameters, salt and algorithm come from the encoded string itself.
  return crypto_pwhash_str_verify(encoded.data(), password.data(), password.size()) == 0;
}

bool needs_rehash(std::string_view stored_hash, hash_cost cost) {
  encoded_hash encoded{};
  // An unreadable hash can never verify, so a fresh one is always better.
  if (!to_encoded_hash(stored_hash, encoded)) return true;
  const auto limits = limits_for(cost);
  // The Argon2id variant, not the generic one: that would accept an Argon2i hash with the same
  // parameters. 0: Argon2id with these parameters; 1: other parameters; -1: not Argon2id.
  return crypto_pwhash_argon2id_str_needs_rehash(encoded.data(), limits.opslimit,
                                                 limits.memlimit) != 0;
}

}  // namespace parley::registry::auth

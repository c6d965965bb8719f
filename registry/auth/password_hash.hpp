// Argon2id password hashing (libsodium). Blocking and CPU-heavy: the registry calls these only
// on its hashing pool, never on the io thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley::registry::auth {

enum class hash_cost {
  interactive,  // default: libsodium's INTERACTIVE limits (Argon2id, 2 passes, 64 MiB)
  moderate,     // stronger: MODERATE limits (3 passes, 256 MiB), about a second per login
  test,         // the minimum (1 pass, 8 KiB): for tests and benchmarks only, never for real use
};

std::optional<hash_cost> parse_hash_cost(std::string_view name);
const char* to_string(hash_cost cost);

// Must be called once before any other function here (sodium_init). Returns false on failure.
bool initialize();

// The encoded Argon2id string (algorithm, parameters, salt, hash), or nullopt if libsodium
// could not allocate its memory.
std::optional<std::string> hash_password(std::string_view password, hash_cost cost);

// Whatever parameters the stored hash was made with.
bool verify_password(std::string_view stored_hash, std::string_view password);

// True when a stored hash was made with other parameters than `cost` asks for.
bool needs_rehash(std::string_view stored_hash, hash_cost cost);

}  // namespace parley::registry::auth

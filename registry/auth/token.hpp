// Private-chat tokens (SPEC 8): the secret the registry hands both sides of an accepted chat.
// The core only sees a token source (core_config::new_token); this is the one the registry uses.
#pragma once

#include <cstddef>
#include <string>

namespace parley::registry::auth {

// 128 bits: far beyond guessing within a token's 60 seconds of life.
inline constexpr std::size_t token_random_bytes = 16;

// token_random_bytes from libsodium's CSPRNG as lowercase hex, the form proto::is_valid_token
// accepts (proto::private_token_chars digits). Call auth::initialize() (password_hash.hpp) once
// before the first token.
std::string random_token();

}  // namespace parley::registry::auth

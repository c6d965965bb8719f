#include "registry/auth/token.hpp"

#include <sodium.h>

#include <array>

namespace parley::registry::auth {

std::string random_token() {
  std::array<unsigned char, token_random_bytes> random{};
  randombytes_buf(random.data(), random.size());
  // Two digits per byte plus the NUL that sodium_bin2hex writes; its digits are lowercase.
  std::array<char, token_random_bytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), random.data(), random.size());
  std::string token(hex.data(), token_random_bytes * 2);
  // The secret lives on only in the returned string, not in stack memory left behind.
  sodium_memzero(random.data(), random.size());
  sodium_memzero(hex.data(), hex.size());
  return token;
}

}  // namespace parley::registry::auth

#include "registry/auth/secret.hpp"

#include <sodium.h>

namespace parley::registry {

void wipe(std::string& secret) {
  // Growing to the capacity makes the whole buffer addressable (no reallocation), including
  // bytes a shorter earlier value left behind.
  secret.resize(secret.capacity());
  sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

}  // namespace parley::registry

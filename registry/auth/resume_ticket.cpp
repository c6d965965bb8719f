#include "registry/auth/resume_ticket.hpp"

#include <sodium.h>

#include <string_view>

namespace parley::registry::auth {
namespace {
constexpr std::string_view digest_key = "parley resume ticket v4";
static_assert(digest_key.size() >= crypto_generichash_KEYBYTES_MIN &&
              digest_key.size() <= crypto_generichash_KEYBYTES_MAX);
static_assert(ticket_digest_bytes >= crypto_generichash_BYTES_MIN &&
              ticket_digest_bytes <= crypto_generichash_BYTES_MAX);
}  // namespace

proto::resume_ticket random_ticket() {
  proto::resume_ticket ticket{};
  randombytes_buf(ticket.data(), ticket.size());
  return ticket;
}

ticket_digest digest_ticket(const proto::resume_ticket& ticket) {
  ticket_digest digest{};
  crypto_generichash(digest.data(), digest.size(), ticket.data(), ticket.size(),
                     reinterpret_cast<const unsigned char*>(digest_key.data()), digest_key.size());
  return digest;
}

}  // namespace parley::registry::auth

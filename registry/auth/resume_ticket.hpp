// SPEC 11's resume tickets: the secret a peer presents to go on with its session after a lost
// link or a registry restart, instead of a password it does not keep. The core sees only a ticket
// source and a digest function (core_config::new_ticket, digest_ticket); these are the registry's.
//
// Why these primitives (docs/PROTOCOL.md, "Resuming a session"): a ticket is 32 bytes from
// libsodium's CSPRNG, 256 bits that cannot be guessed, so it needs no stretching (no Argon2: a
// restart's resumes must not queue behind the hash pool). The registry keeps only its keyed
// BLAKE2b-256 (crypto_generichash) digest, in memory and in the database: a stolen database
// holds digests of 256-bit secrets, which give no way back to a ticket. The fixed key only
// separates this hash from any other Parley makes.
#pragma once

#include "registry/core/storage.hpp"
#include "shared/proto/messages.hpp"

namespace parley::registry::auth {

// Call auth::initialize() (password_hash.hpp) once before the first ticket.
proto::resume_ticket random_ticket();

// BLAKE2b-256 of the ticket, keyed with "parley resume ticket v4".
ticket_digest digest_ticket(const proto::resume_ticket& ticket);

}  // namespace parley::registry::auth

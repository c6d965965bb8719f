// Secrets in memory: passwords between the socket and the hash, the credentials file's text.
// They are wiped as soon as they have been used, so that a later read of freed memory (a core
// dump, a bug) finds zeros.
#pragma once

#include <string>

namespace parley::registry {

// Overwrites a string's whole buffer (not only its current size) with zeros and empties it.
void wipe(std::string& secret);

}  // namespace parley::registry

// Start-up import of credentials.txt: every user the database lacks is hashed (on the pool, all
// in parallel) and added. Problems are logged, never fatal: a missing file or a bad line still
// lets the registry start with the accounts the database holds.
#pragma once

#include "registry/auth/hash_pool.hpp"
#include "registry/core/clock.hpp"
#include "registry/core/storage.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace parley::registry {

// credentials.txt is read whole; a file past this bound is refused rather than read.
inline constexpr std::uintmax_t max_credentials_file_bytes = 64 * 1024 * 1024;

struct import_summary {
  std::size_t imported = 0;  // new accounts added to the database
  std::size_t known = 0;     // users of the file the database already had
};

// Blocks until done: call it before the io_context runs.
import_summary import_accounts(const std::filesystem::path& credentials, storage& store,
                               hash_pool& pool, time_point now);

}  // namespace parley::registry

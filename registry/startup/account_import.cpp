#include "registry/startup/account_import.hpp"

#include "registry/auth/secret.hpp"
#include "registry/startup/credentials.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

namespace parley::registry {
namespace {

// The whole file, or nullopt after logging why it cannot be used.
std::optional<std::string> read_credentials(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec == std::errc::no_such_file_or_directory) {
    spdlog::warn("credentials file {} not found; starting with the accounts in the database",
                 path.string());
    return std::nullopt;
  }
  if (ec) {
    spdlog::warn("cannot read credentials file {}: {}; starting with the accounts in the database",
                 path.string(), ec.message());
    return std::nullopt;
  }
  if (size > max_credentials_file_bytes) {
    spdlog::warn(
        "credentials file {} is {} bytes, over the {} byte bound; starting with the accounts in "
        "the database",
        path.string(), size, max_credentials_file_bytes);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad() || !in.is_open()) {
    spdlog::warn("cannot read credentials file {}; starting with the accounts in the database",
                 path.string());
    return std::nullopt;
  }
  return text;
}

}  // namespace

import_summary import_accounts(const std::filesystem::path& credentials, storage& store,
                               hash_pool& pool, time_point now) {
  import_summary summary;
  auto text = read_credentials(credentials);
  if (!text) return summary;
  auto parsed = parse_credentials(*text);
  wipe(*text);
  for (const auto& problem : parsed.problems) {
    spdlog::warn("{}:{}: {}", credentials.string(), problem.line, problem.reason);
  }

  std::unordered_set<std::string> existing;
  for (auto& account : store.load().accounts) existing.insert(std::move(account.name));

  // Only the users the database lacks are hashed: Argon2id is the slow part of start-up.
  std::vector<std::string> names;
  std::vector<std::string> passwords;
  for (auto& entry : parsed.entries) {
    if (existing.contains(entry.name)) {
      ++summary.known;
    } else {
      names.push_back(std::move(entry.name));
      passwords.push_back(std::move(entry.password));
    }
    wipe(entry.password);
  }
  const auto hashes = pool.hash_all(passwords);

  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!hashes[i]) {
      spdlog::error("could not hash the password of {} (out of memory?); not imported", names[i]);
    } else if (!store.add_account(names[i], *hashes[i], now)) {
      spdlog::error("could not store the account {}; not imported", names[i]);
    } else {
      ++summary.imported;
    }
  }
  spdlog::info("imported {} new users from {} ({} already in the database)", summary.imported,
               credentials.string(), summary.known);
  return summary;
}

}  // namespace parley::registry

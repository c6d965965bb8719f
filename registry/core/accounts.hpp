// Private to the registry core: the accounts it keeps in memory (SPEC 2), loaded once from the
// store at start-up and kept in step with it by the parts that write (login, lockout).
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/session.hpp"
#include "registry/core/storage.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::registry {

struct account {
  std::string password_hash;
  int failed_attempts = 0;
  time_point locked_until{};  // epoch: not locked
  std::optional<time_point> last_logout;
  // Messages in its mailbox (SPEC 6): committed, or asked for and not yet answered; a message
  // leaves the count when the peer's confirmation of it is committed.
  std::size_t stored = 0;
};

class account_book {
 public:
  void load(std::vector<account_record>&& records,
            const std::vector<std::pair<std::string, std::size_t>>& mailboxes) {
    for (auto& a : records)
      accounts_.insert_or_assign(
          std::move(a.name),
          account{std::move(a.password_hash), a.failed_attempts, a.locked_until, a.last_logout});
    // Messages for a name with no account (a hand-edited database) are never delivered.
    for (const auto& [name, count] : mailboxes)
      if (account* a = find(name)) a->stored = count;
  }

  // Null when no account has this name.
  account* find(std::string_view name) {
    const auto it = accounts_.find(name);
    return it == accounts_.end() ? nullptr : &it->second;
  }
  bool contains(std::string_view name) const { return accounts_.contains(name); }
  void add(const std::string& name, std::string password_hash) {
    accounts_.insert_or_assign(name, account{std::move(password_hash), 0, time_point{}, {}, 0});
  }
  // Login history in memory: whoelsesince reads it (the store's copy is best effort).
  void note_logout(std::string_view name, time_point now) {
    if (account* a = find(name)) a->last_logout = now;
  }
  // Sorted by name.
  const by_name<account>& all() const { return accounts_; }

 private:
  by_name<account> accounts_;
};

}  // namespace parley::registry

// Private to the registry core: who blocks whom (SPEC 4's block/unblock), in memory and in the
// store. Blocking is one-way: "A blocks B" limits only what B can do towards A.
#pragma once

#include "registry/core/session.hpp"
#include "registry/core/storage.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace parley::registry {

class block_list {
 public:
  explicit block_list(storage& store) : store_(store) {}

  void load(std::vector<block_record>&& records);

  bool has_blocked(std::string_view blocker, std::string_view blocked) const {
    const auto it = blocks_.find(blocker);
    return it != blocks_.end() && it->second.contains(blocked);
  }
  // The users `blocker` blocks; null when none.
  const name_set* blocked_by(std::string_view blocker) const {
    const auto it = blocks_.find(blocker);
    return it == blocks_.end() ? nullptr : &it->second;
  }

  // Durable first: false (and nothing changed) when the store could not commit. Each asks for a
  // state, so adding a block that exists, or removing one that does not, succeeds (a caller that
  // must answer "already blocked" or "was not blocked" checks has_blocked first).
  bool add(const std::string& blocker, const std::string& blocked);
  bool remove(const std::string& blocker, const std::string& blocked);

 private:
  storage& store_;
  by_name<name_set> blocks_;  // blocker -> the users it blocks
};

}  // namespace parley::registry

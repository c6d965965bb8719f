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

  // In memory only: the caller asks the store for the same change, and undoes this one if the
  // store fails. Each asks for a state, so adding a block that exists, or removing one that does
  // not, changes nothing.
  void add(const std::string& blocker, const std::string& blocked);
  void remove(const std::string& blocker, const std::string& blocked);

 private:
  by_name<name_set> blocks_;  // blocker -> the users it blocks
};

}  // namespace parley::registry

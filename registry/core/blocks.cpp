#include "registry/core/blocks.hpp"

#include <utility>

namespace parley::registry {

void block_list::load(std::vector<block_record>&& records) {
  for (auto& b : records) blocks_[std::move(b.blocker)].insert(std::move(b.blocked));
}

bool block_list::add(const std::string& blocker, const std::string& blocked) {
  if (!store_.add_block(blocker, blocked)) return false;
  blocks_[blocker].insert(blocked);
  return true;
}

bool block_list::remove(const std::string& blocker, const std::string& blocked) {
  const auto it = blocks_.find(blocker);
  if (it == blocks_.end() || !it->second.contains(blocked)) return true;
  if (!store_.remove_block(blocker, blocked)) return false;
  it->second.erase(blocked);
  if (it->second.empty()) blocks_.erase(it);
  return true;
}

}  // namespace parley::registry

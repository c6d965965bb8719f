#include "registry/core/blocks.hpp"

#include <utility>

namespace parley::registry {

void block_list::load(std::vector<block_record>&& records) {
  for (auto& b : records) blocks_[std::move(b.blocker)].insert(std::move(b.blocked));
}

void block_list::add(const std::string& blocker, const std::string& blocked) {
  blocks_[blocker].insert(blocked);
}

void block_list::remove(const std::string& blocker, const std::string& blocked) {
  const auto it = blocks_.find(blocker);
  if (it == blocks_.end()) return;
  it->second.erase(blocked);
  if (it->second.empty()) blocks_.erase(it);
}

}  // namespace parley::registry

#include "peer/core/handshake_admission.hpp"

#include <algorithm>

namespace parley::peer {

handshake_admission::handshake_admission(handshake_limits limits) : limits_(limits) {
  // A listener that could hold no handshake at all would accept no chat.
  limits_.total = std::max<std::size_t>(limits_.total, 1);
}

handshake_admission::verdict handshake_admission::admit(std::string_view address, bool expected) {
  verdict result;
  const std::size_t from_here = pending_from(address);
  const bool address_full = limits_.per_address != 0 && from_here >= limits_.per_address;
  const bool all_full = by_age_.size() >= limits_.total;
  if (address_full || all_full) {
    if (!expected) {
      result.refused = address_full ? refusal::per_address : refusal::total;
      return result;
    }
    // The expected requester gets in. Its own address over its share gives up its oldest, so
    // the bound per address holds even then; otherwise another address's oldest makes way (an
    // address that is not full has not taken every place, unless there is no bound per address).
    auto victim = address_full ? oldest(address, false) : oldest(address, true);
    if (!victim) victim = oldest(address, false);
    if (victim) {
      result.evicted = victim;
      forget(by_age_.find(*victim));
    }
  }
  const ticket t = next_++;
  by_age_.emplace(t, std::string(address));
  ++per_address_[std::string(address)];
  result.admitted = t;
  return result;
}

void handshake_admission::release(ticket t) {
  const auto entry = by_age_.find(t);
  if (entry != by_age_.end()) forget(entry);
}

std::size_t handshake_admission::pending_from(std::string_view address) const {
  const auto entry = per_address_.find(address);
  return entry == per_address_.end() ? 0 : entry->second;
}

std::optional<handshake_admission::ticket> handshake_admission::oldest(std::string_view address,
                                                                       bool other) const {
  // Tickets grow with each admission, so the map's order is the order of arrival. At most
  // `total` entries: a linear walk is fine.
  for (const auto& [t, from] : by_age_)
    if ((from == address) != other) return t;
  return std::nullopt;
}

void handshake_admission::forget(std::map<ticket, std::string>::iterator entry) {
  const auto count = per_address_.find(entry->second);
  if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
  by_age_.erase(entry);
}

}  // namespace parley::peer

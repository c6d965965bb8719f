#include "registry/core/resume.hpp"

#include <cstdint>

namespace parley::registry {

proto::resume_ticket resume_book::issue(const std::string& name) {
  const proto::resume_ticket ticket = options_.new_ticket();
  entries_.insert_or_assign(name,
                            entry{options_.digest_ticket(ticket), std::nullopt, std::nullopt});
  return ticket;
}

void resume_book::restore(const ticket_record& record) {
  entries_.insert_or_assign(record.name, entry{record.digest, record.ended_at, std::nullopt, true});
}

const resume_book::entry* resume_book::find(std::string_view name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

resume_book::entry* resume_book::find_mutable(std::string_view name) {
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

const resume_book::entry* resume_book::match(std::string_view name,
                                             const proto::resume_ticket& ticket) const {
  const ticket_digest digest = options_.digest_ticket(ticket);
  const entry* e = find(name);
  // Compared whole, without an early exit. A timing difference would tell only bytes of a
  // digest, which lead nobody to a ticket; this just leaves no reason to wonder.
  std::uint8_t differ = 0;
  const ticket_digest& kept = e ? e->digest : digest;
  for (std::size_t i = 0; i < digest.size(); ++i) differ |= digest[i] ^ kept[i];
  return e && differ == 0 ? e : nullptr;
}

void resume_book::suspend(std::string_view name, time_point until) {
  if (entry* e = find_mutable(name)) e->grace_until = until;
}

void resume_book::mark_sent(std::string_view name) {
  if (entry* e = find_mutable(name)) e->sent = true;
}

void resume_book::resumed(std::string_view name) {
  if (entry* e = find_mutable(name)) e->grace_until.reset();
}

void resume_book::end(std::string_view name, time_point now) {
  if (entry* e = find_mutable(name)) {
    e->grace_until.reset();
    e->ended_at = now;
  }
}

void resume_book::revoke(std::string_view name) {
  if (const auto it = entries_.find(name); it != entries_.end()) entries_.erase(it);
}

}  // namespace parley::registry

// The private-chat network's events, passed on to private_chats; with the registry gone the
// last chat to end takes the peer with it.
#include "peer/core/peer_core.hpp"

namespace parley::peer {

void peer_core::on_offer(const proto::private_offer& offer, effects& out) {
  if (phase_ != phase::logged_in) return;
  remember_name(offer.from.value);
  // The prompt changes only when this offer is the one asked now; the others wait their turn.
  if (private_chats_.on_offer(offer.from.value, out)) ask(phase::logged_in, out);
}

open_judgement peer_core::on_private_open(const proto::p2p_open& opening, time_point now) {
  if (phase_ != phase::logged_in) return {};
  return private_chats_.on_open(opening, now);
}

bool peer_core::on_private_proven(std::string_view user,
                                  const proto::chat_public_key& requester_key,
                                  std::string_view safety, time_point now, effects& out) {
  if (phase_ != phase::logged_in) return false;
  if (!private_chats_.on_proven(user, requester_key, safety, now, out)) return false;
  remember_name(user);
  return true;
}

bool peer_core::expects_private_from(std::string_view address, time_point now) const {
  return phase_ == phase::logged_in && private_chats_.expects_address(address, now);
}

void peer_core::on_private_dialed(std::string_view user, bool opened, std::string_view safety,
                                  effects& out) {
  if (phase_ == phase::done) return;
  private_chats_.on_dialed(user, opened, safety, out);
  check_last_chat(out);
}

void peer_core::on_private_message(std::string_view user, const proto::p2p_message& message,
                                   effects& out) {
  if (phase_ == phase::done) return;
  private_chats_.on_chat_message(user, message, out);
  check_last_chat(out);
}

void peer_core::on_private_closed(std::string_view user, effects& out) {
  if (phase_ == phase::done) return;
  private_chats_.on_chat_closed(user, out);
  check_last_chat(out);
}

void peer_core::check_last_chat(effects& out) {
  if (registry_lost_ && private_chats_.active_count() == 0) finish(exit_failure, out);
}

}  // namespace parley::peer

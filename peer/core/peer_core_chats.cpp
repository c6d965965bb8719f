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

hello_verdict peer_core::on_private_hello(const proto::p2p_hello& hello, time_point now,
                                          effects& out) {
  if (phase_ != phase::logged_in) return hello_verdict::refused;
  const auto verdict = private_chats_.on_hello(hello, now, out);
  if (verdict == hello_verdict::accepted) remember_name(hello.from.value);
  return verdict;
}

bool peer_core::expects_private_from(std::string_view address, time_point now) const {
  return phase_ == phase::logged_in && private_chats_.expects_address(address, now);
}

void peer_core::on_private_dialed(std::string_view user, bool accepted, effects& out) {
  if (phase_ == phase::done) return;
  private_chats_.on_dialed(user, accepted, out);
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

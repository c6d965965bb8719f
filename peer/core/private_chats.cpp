#include "peer/core/private_chats.hpp"

#include "peer/core/texts.hpp"
#include "shared/proto/text.hpp"
#include "shared/util/overloaded.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace parley::peer {
namespace {

std::string_view trim_spaces(std::string_view text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(' ');
  return text.substr(first, last - first + 1);
}

}  // namespace

// ---------------------------------------------------------------- commands

bool private_chats::may_request(std::string_view user, effects& out) const {
  if (open_.contains(user) || dialing_.contains(user)) {
    out.print(texts::private_already_enabled(user));
    return false;
  }
  if (open_.size() + dialing_.size() >= max_open_chats) {
    out.print(texts::too_many_private_chats);
    return false;
  }
  return true;
}

void private_chats::forget_invite(std::string_view user) { take(invites_, user); }

proto::private_invite private_chats::invite(std::string_view user) {
  // A request the registry still holds (it answers a repeat with private_pending) keeps the key
  // it was sent with; a refused one's key was forgotten (forget_invite), so it gets a new one.
  auto own = take(invites_, user);
  if (own)
    invites_.push_back(pending_key{std::string(user), own});
  else
    own = remember(invites_, user);
  return proto::private_invite{proto::name_string(std::string(user)), own->public_part()};
}

void private_chats::verify(std::string_view user, effects& out) const {
  const auto chat = open_.find(user);
  if (chat == open_.end()) return out.print(texts::private_not_enabled(user));
  out.print(texts::safety_number(user, chat->second));
}

// A fresh key pair for `user`, replacing one kept for them; past the bound the oldest goes.
std::shared_ptr<const crypto::chat_keypair> private_chats::remember(std::vector<pending_key>& keys,
                                                                    std::string_view user) {
  take(keys, user);
  if (keys.size() >= max_expectations) keys.erase(keys.begin());
  auto own = std::make_shared<const crypto::chat_keypair>(crypto::chat_keypair::generate());
  keys.push_back(pending_key{std::string(user), own});
  return own;
}

std::shared_ptr<const crypto::chat_keypair> private_chats::take(std::vector<pending_key>& keys,
                                                                std::string_view user) {
  const auto found =
      std::find_if(keys.begin(), keys.end(), [&](const pending_key& k) { return k.user == user; });
  if (found == keys.end()) return nullptr;
  auto own = std::move(found->own);
  keys.erase(found);
  return own;
}

bool private_chats::send(std::string_view user, std::string_view text, effects& out) {
  if (!open_.contains(user)) {
    out.print(texts::private_not_enabled(user));
    return false;
  }
  out.chats.emplace_back(
      send_on_chat{std::string(user), proto::p2p_text{proto::text_string(std::string(text))}});
  return true;
}

bool private_chats::stop(std::string_view user, effects& out) {
  const auto chat = open_.find(user);
  if (chat == open_.end()) {
    out.print(texts::private_not_enabled(user));
    return false;
  }
  std::string name = chat->first;
  open_.erase(chat);
  out.chats.emplace_back(send_on_chat{name, proto::p2p_stop{}});
  // The stop must reach the other side before the connection goes: close after the flush.
  out.chats.emplace_back(close_chat{name, true});
  out.print(texts::private_stopped(name));
  return true;
}

bool private_chats::is_open(std::string_view user) const { return open_.contains(user); }

// ---------------------------------------------------------------- consent

bool private_chats::on_offer(std::string_view from, effects& out) {
  // The registry lets one request per pair wait; a repeat is not asked twice.
  if (std::find(offers_.begin(), offers_.end(), from) != offers_.end()) return false;
  if (offers_.size() >= max_waiting_offers) {
    out.sends.emplace_back(proto::private_answer{proto::name_string(std::string(from)), 0});
    return false;
  }
  offers_.emplace_back(from);
  return offers_.size() == 1;
}

std::optional<std::string> private_chats::asking() const {
  if (offers_.empty()) return std::nullopt;
  return offers_.front();
}

std::string private_chats::consent_prompt() const {
  return offers_.empty() ? std::string() : texts::consent_prompt(offers_.front());
}

bool private_chats::answer(std::string_view line, effects& out) {
  if (offers_.empty()) return false;
  const auto word = trim_spaces(line);
  const bool yes = word == "y" || word == "Y";
  const bool no = word == "n" || word == "N";
  if (!yes && !no) return false;
  bool accept = yes;
  // A yes with no room for the chat would only end in a refused connection.
  if (accept && open_.size() + dialing_.size() >= max_open_chats) {
    out.print(texts::too_many_private_chats);
    accept = false;
  }
  // A yes carries this side's fresh chat key (SPEC 10); a no is the plain answer.
  if (accept)
    out.sends.emplace_back(proto::private_consent{
        proto::name_string(offers_.front()), remember(consents_, offers_.front())->public_part()});
  else
    out.sends.emplace_back(proto::private_answer{proto::name_string(offers_.front()), 0});
  offers_.pop_front();
  return true;
}

void private_chats::drop_offers() {
  offers_.clear();
  // Neither a grant nor an expectation can follow on a lost registry link.
  invites_.clear();
  consents_.clear();
}

// ---------------------------------------------------------------- requester side

void private_chats::on_granted(const proto::private_granted_keyed& grant, effects& out) {
  const auto& user = grant.peer.value;
  // A second grant for a chat already open or on its way has nothing to add.
  if (open_.contains(user) || dialing_.contains(user)) return;
  auto own = take(invites_, user);
  if (!own) return;
  if (open_.size() + dialing_.size() >= max_open_chats) {
    out.print(texts::too_many_private_chats);
    return;
  }
  dialing_.emplace(user);
  out.chats.emplace_back(
      dial_chat{user, grant.address.value, grant.port,
                chat_secrets{own_name_, user, grant.token.value, std::move(own), grant.peer_key}});
}

void private_chats::on_declined(std::string_view user, effects& out) {
  take(invites_, user);
  out.print(texts::private_declined(user));
}

void private_chats::on_dialed(std::string_view user, bool opened, std::string_view safety,
                              effects& out) {
  const auto dial = dialing_.find(user);
  if (dial == dialing_.end()) return;
  dialing_.erase(dial);
  if (!opened) {
    out.print(texts::private_unreachable(user));
    return;
  }
  open_.emplace(std::string(user), std::string(safety));
  out.print(texts::private_accepts(user));
  out.print(texts::private_started(user));
}

// ---------------------------------------------------------------- listener side

void private_chats::on_expect(const proto::private_expect_keyed& m, time_point now) {
  auto own = take(consents_, m.peer.value);
  if (!own) return;
  forget_expired(now);
  // Listeners find expectations by key: a key already expected (only someone who saw it could
  // present it again) would shadow the first; the first keeps it.
  if (std::any_of(expectations_.begin(), expectations_.end(),
                  [&](const expectation& e) { return e.peer_key == m.peer_key; }))
    return;
  if (expectations_.size() >= max_expectations) expectations_.erase(expectations_.begin());
  expectations_.push_back(
      expectation{m.peer.value, m.token.value, m.address.value, m.peer_key, std::move(own), now});
}

bool private_chats::expects_address(std::string_view address, time_point now) const {
  if (address.empty()) return false;
  return std::any_of(expectations_.begin(), expectations_.end(), [&](const expectation& e) {
    return e.address == address && now - e.received < token_lifetime;
  });
}

open_judgement private_chats::on_open(const proto::p2p_open& opening, time_point now) {
  if (opening.version != crypto::handshake_version) return {};
  forget_expired(now);
  // Keys are public: comparing them in constant time would hide nothing.
  const auto found = std::find_if(expectations_.begin(), expectations_.end(), [&](const auto& e) {
    return e.peer_key == opening.requester_key;
  });
  if (found == expectations_.end()) return {open_verdict::unknown, {}};
  // One chat per pair: a chat with this user already open or being dialed stays the one.
  if (open_.contains(found->user) || dialing_.contains(found->user)) return {};
  if (++found->attempts > max_handshake_attempts) {
    expectations_.erase(found);
    return {};
  }
  return {open_verdict::answer,
          chat_secrets{found->user, own_name_, found->token, found->own, found->peer_key}};
}

bool private_chats::on_proven(std::string_view user, const proto::chat_public_key& requester_key,
                              std::string_view safety, time_point now, effects& out) {
  forget_expired(now);
  const auto found = std::find_if(expectations_.begin(), expectations_.end(), [&](const auto& e) {
    return e.peer_key == requester_key && e.user == user;
  });
  if (found == expectations_.end()) return false;
  // Single use: whatever happens next, this expectation opens nothing more.
  expectations_.erase(found);
  if (open_.contains(user) || dialing_.contains(user)) return false;
  if (open_.size() + dialing_.size() >= max_open_chats) return false;
  open_.emplace(std::string(user), std::string(safety));
  out.print(texts::private_started(user));
  return true;
}

void private_chats::forget_expired(time_point now) {
  std::erase_if(expectations_,
                [&](const expectation& e) { return now - e.received >= token_lifetime; });
}

// ---------------------------------------------------------------- open chats

void private_chats::on_chat_message(std::string_view user, const proto::p2p_message& message,
                                    effects& out) {
  if (!open_.contains(user)) return;
  std::visit(overloaded{
                 [&](const proto::p2p_text& m) {
                   out.print(message_line(
                       line_kind::private_message,
                       texts::private_delivery(user, proto::escape_for_terminal(m.text.value)),
                       std::string(user), m.text.value));
                 },
                 [&](const proto::p2p_stop&) {
                   std::string name(user);
                   open_.erase(open_.find(name));
                   out.print(texts::private_stopped_by(name));
                   out.chats.emplace_back(close_chat{name, false});
                 },
                 // A handshake message inside a chat breaks the protocol: the chat ends.
                 [&](const auto&) { end_chat(user, out); },
             },
             message);
}

void private_chats::on_chat_closed(std::string_view user, effects& out) {
  if (open_.contains(user)) end_chat(user, out);
}

void private_chats::on_user_offline(std::string_view user, effects& out) {
  if (open_.contains(user)) end_chat(user, out);
}

void private_chats::end_chat(std::string_view user, effects& out) {
  std::string name(user);
  open_.erase(open_.find(name));
  out.print(texts::private_ended(name));
  out.chats.emplace_back(close_chat{name, false});
}

}  // namespace parley::peer

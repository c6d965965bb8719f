#include "peer/core/private_chats.hpp"

#include "peer/core/texts.hpp"
#include "shared/proto/text.hpp"
#include "shared/util/overloaded.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace parley::peer {
namespace {

// Compares two tokens in time that depends only on their lengths, so a dialer cannot learn a
// live token byte by byte from how fast it is refused.
bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

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
  std::string name = *chat;
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
  out.sends.emplace_back(proto::private_answer{proto::name_string(offers_.front()),
                                               static_cast<std::uint8_t>(accept ? 1 : 0)});
  offers_.pop_front();
  return true;
}

void private_chats::drop_offers() { offers_.clear(); }

// ---------------------------------------------------------------- requester side

void private_chats::on_granted(const proto::private_granted& grant, effects& out) {
  const auto& user = grant.peer.value;
  // A second grant for a chat already open or on its way has nothing to add.
  if (open_.contains(user) || dialing_.contains(user)) return;
  if (open_.size() + dialing_.size() >= max_open_chats) {
    out.print(texts::too_many_private_chats);
    return;
  }
  dialing_.emplace(user);
  out.chats.emplace_back(
      dial_chat{own_name_, user, grant.address.value, grant.port, grant.token.value});
}

void private_chats::on_declined(std::string_view user, effects& out) {
  out.print(texts::private_declined(user));
}

void private_chats::on_dialed(std::string_view user, bool accepted, effects& out) {
  const auto dial = dialing_.find(user);
  if (dial == dialing_.end()) return;
  dialing_.erase(dial);
  if (!accepted) {
    out.print(texts::private_unreachable(user));
    return;
  }
  open_.emplace(user);
  out.print(texts::private_accepts(user));
  out.print(texts::private_started(user));
}

// ---------------------------------------------------------------- listener side

void private_chats::on_expect(const proto::private_expect& m, time_point now) {
  expect(expectation{m.peer.value, m.token.value, {}, now}, now);
}

void private_chats::on_expect(const proto::private_expect_from& m, time_point now) {
  expect(expectation{m.peer.value, m.token.value, m.address.value, now}, now);
}

void private_chats::expect(expectation e, time_point now) {
  forget_expired(now);
  if (expectations_.size() >= max_expectations) expectations_.erase(expectations_.begin());
  expectations_.push_back(std::move(e));
}

bool private_chats::expects_address(std::string_view address, time_point now) const {
  if (address.empty()) return false;
  return std::any_of(expectations_.begin(), expectations_.end(), [&](const expectation& e) {
    return e.address == address && now - e.received < token_lifetime;
  });
}

hello_verdict private_chats::on_hello(const proto::p2p_hello& hello, time_point now, effects& out) {
  if (hello.version != proto::protocol_version) return hello_verdict::refused;
  forget_expired(now);
  const auto found =
      std::find_if(expectations_.begin(), expectations_.end(),
                   [&](const expectation& e) { return same_token(e.token, hello.token.value); });
  if (found == expectations_.end()) return hello_verdict::unknown;
  // The token is live but was issued for someone else: whoever this is, it is not that user.
  if (found->user != hello.from.value) return hello_verdict::refused;
  // Single use: whatever happens next, this token opens nothing more.
  expectations_.erase(found);
  const auto& user = hello.from.value;
  // One chat per pair: a chat with this user already open or being dialed stays the one.
  if (open_.contains(user) || dialing_.contains(user)) return hello_verdict::refused;
  if (open_.size() + dialing_.size() >= max_open_chats) return hello_verdict::refused;
  open_.emplace(user);
  out.print(texts::private_started(user));
  return hello_verdict::accepted;
}

void private_chats::forget_expired(time_point now) {
  std::erase_if(expectations_,
                [&](const expectation& e) { return now - e.received >= token_lifetime; });
}

// ---------------------------------------------------------------- open chats

void private_chats::on_chat_message(std::string_view user, const proto::p2p_message& message,
                                    effects& out) {
  if (!open_.contains(user)) return;
  std::visit(
      overloaded{
          [&](const proto::p2p_text& m) {
            out.print(texts::private_delivery(user, proto::escape_for_terminal(m.text.value)));
          },
          [&](const proto::p2p_stop&) {
            std::string name(user);
            open_.erase(open_.find(name));
            out.print(texts::private_stopped_by(name));
            out.chats.emplace_back(close_chat{name, false});
          },
          // A handshake message inside a chat breaks the protocol: the chat ends.
          [&](const proto::p2p_hello&) { end_chat(user, out); },
          [&](const proto::p2p_accept&) { end_chat(user, out); },
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

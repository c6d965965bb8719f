#include "registry/core/private_broker.hpp"

#include "shared/proto/codec.hpp"

#include <algorithm>
#include <memory>
#include <span>

namespace parley::registry {
// Paired with the address this session was seen connecting from when a chat is granted. The
// latest announcement wins: a peer that reopens its listener says so again.
void private_broker::on_listen(session& s, const proto::private_listen& m) {
  s.chats.port_ = m.port;
}

void private_broker::transfer(session& from, session& to) {
  to.chats.waiting_ = std::move(from.chats.waiting_);
  if (to.chats.port_ == 0) to.chats.port_ = from.chats.port_;
}

// Checked in this order; the first that applies is the one answer. A request that passes them
// is passed on to the target, and the requester's reply says only that.
void private_broker::on_request(session_id id, session& s, const proto::private_request& m,
                                effects& out) {
  ask(id, s, m.to.value, std::nullopt, out);
}

void private_broker::on_invite(session_id id, session& s, const proto::private_invite& m,
                               effects& out) {
  ask(id, s, m.to.value, m.chat_key, out);
}

void private_broker::ask(session_id id, session& s, const std::string& to,
                         const std::optional<proto::chat_public_key>& key, effects& out) {
  if (!accounts_.contains(to)) return replies_.outcome(out, id, proto::outcome::invalid_user, to);
  if (to == s.name) return replies_.outcome(out, id, proto::outcome::cannot_private_self);
  const auto target_id = sessions_.online_id(to);
  if (!target_id) return replies_.outcome(out, id, proto::outcome::user_offline, to);
  // SPEC 8.1: a target who has blocked the requester is not even asked.
  if (blocks_.has_blocked(to, s.name))
    return replies_.outcome(out, id, proto::outcome::private_blocked, to);
  session& target = sessions_.at(*target_id);
  if (target.chats.port_ == 0)
    return replies_.outcome(out, id, proto::outcome::private_unavailable, to);
  if (has_offer_from(target, s.name))
    return replies_.outcome(out, id, proto::outcome::private_pending, to);
  if (offers_of(target).size() >= max_offers_)
    return replies_.outcome(out, id, proto::outcome::private_busy, to);

  waiting_of(target).offers.push_back({s.name, key});
  waiting_of(s).asked.insert(to);
  replies_.send(out, *target_id, proto::make_frame(proto::private_offer{s.name}));
  replies_.outcome(out, id, proto::outcome::private_requested);
}

std::optional<private_broker::answered> private_broker::take_offer(session& s,
                                                                   const std::string& requester) {
  if (!s.chats.waiting_) return std::nullopt;
  auto& offers = s.chats.waiting_->offers;
  const auto found = std::ranges::find(offers, requester, &private_slot::offer::requester);
  if (found == offers.end()) return std::nullopt;
  private_slot::offer offer = std::move(*found);
  offers.erase(found);
  release_if_settled(s);
  const auto requester_id = sessions_.online_id(requester);
  // Cannot happen while settle keeps its promise; an answer to nobody, then.
  if (!requester_id) return std::nullopt;
  forget_asked(sessions_.at(*requester_id), s.name);
  return answered{*requester_id, std::move(offer)};
}

// No reply: the answer only moves the requester on. An answer for nobody waiting (the
// requester left meanwhile, or never asked) changes nothing.
void private_broker::on_answer(session_id id, session& s, const proto::private_answer& m,
                               effects& out) {
  const auto taken = take_offer(s, m.requester.value);
  if (!taken) return;
  if (m.accept == 0)
    return replies_.send(out, taken->requester_id,
                         proto::make_frame(proto::private_declined{s.name}));
  grant(id, s, taken->requester_id, sessions_.at(taken->requester_id), std::nullopt, std::nullopt,
        out);
}

void private_broker::on_consent(session_id id, session& s, const proto::private_consent& m,
                                effects& out) {
  const auto taken = take_offer(s, m.requester.value);
  if (!taken) return;
  // Keys for both or for neither: a chat key is of use only if the other side has one too.
  const bool keyed = taken->offer.key.has_value();
  grant(id, s, taken->requester_id, sessions_.at(taken->requester_id),
        keyed ? std::optional(m.chat_key) : std::nullopt, taken->offer.key, out);
}

// One fresh token for both sides. Each is told the address the registry saw the other connect
// from, never one a peer claims: the requester dials the target there, and the target keeps
// room for a handshake from the requester's (SPEC 8.8). With keys, each is told the other's.
void private_broker::grant(session_id target_id, const session& target, session_id requester_id,
                           const session& requester,
                           const std::optional<proto::chat_public_key>& target_key,
                           const std::optional<proto::chat_public_key>& requester_key,
                           effects& out) {
  const std::string token = new_token_();
  const bool keyed = target_key && requester_key;
  const proto::server_message expect =
      keyed ? proto::server_message(proto::private_expect_keyed{requester.name, token,
                                                                requester.address, *requester_key})
            : proto::private_expect_from{requester.name, token, requester.address};
  const proto::server_message granted =
      keyed ? proto::server_message(proto::private_granted_keyed{
                  target.name, target.address, target.chats.port_, token, *target_key})
            : proto::private_granted{target.name, target.address, target.chats.port_, token};
  // A frame that does not validate would end the receiver's registry session as a protocol
  // error; a broken token source or an address that is not one costs only this chat.
  if (proto::validate(expect) || proto::validate(granted))
    return replies_.send(out, requester_id,
                         proto::make_frame(proto::private_declined{target.name}));
  // The target first, so that its expectation is on the way before the requester can dial.
  replies_.send(out, target_id, proto::make_frame(expect));
  replies_.send(out, requester_id, proto::make_frame(granted));
}

void private_broker::decline_waiting(session& s, effects& out) {
  if (!s.chats.waiting_) return;
  proto::frame_ptr frame;
  // Only other sessions change in the loop (nobody can ask themselves), so the slot stays.
  for (const auto& offer : s.chats.waiting_->offers) {
    const auto requester_id = sessions_.online_id(offer.requester);
    if (!requester_id) continue;
    forget_asked(sessions_.at(*requester_id), s.name);
    // Encoded once, for however many are waiting.
    if (!frame) frame = proto::make_frame(proto::private_declined{s.name});
    replies_.send(out, *requester_id, frame);
  }
  s.chats.waiting_->offers.clear();
  release_if_settled(s);
}

void private_broker::settle(session& s, effects& out) {
  decline_waiting(s, out);
  if (!s.chats.waiting_) return;
  for (const std::string& target : s.chats.waiting_->asked) {
    const auto target_id = sessions_.online_id(target);
    if (!target_id) continue;
    session& other = sessions_.at(*target_id);
    if (!other.chats.waiting_) continue;
    auto& offers = other.chats.waiting_->offers;
    if (const auto offer = std::ranges::find(offers, s.name, &private_slot::offer::requester);
        offer != offers.end())
      offers.erase(offer);
    release_if_settled(other);
  }
  s.chats.waiting_.reset();
}

std::span<const private_slot::offer> private_broker::offers_of(const session& s) {
  if (!s.chats.waiting_) return {};
  return s.chats.waiting_->offers;
}

bool private_broker::has_offer_from(const session& s, const std::string& requester) {
  const auto offers = offers_of(s);
  return std::ranges::find(offers, requester, &private_slot::offer::requester) != offers.end();
}

// Created on first need. Whoever empties one calls release_if_settled, so that an idle session
// holds none.
private_slot::waiting& private_broker::waiting_of(session& s) {
  if (!s.chats.waiting_) s.chats.waiting_ = std::make_unique<private_slot::waiting>();
  return *s.chats.waiting_;
}

void private_broker::release_if_settled(session& s) {
  if (s.chats.waiting_ && s.chats.waiting_->empty()) s.chats.waiting_.reset();
}

// `requester` no longer waits for `target`'s answer.
void private_broker::forget_asked(session& requester, const std::string& target) {
  if (!requester.chats.waiting_) return;
  requester.chats.waiting_->asked.erase(target);
  release_if_settled(requester);
}

}  // namespace parley::registry

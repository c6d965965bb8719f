#include "registry/core/messaging.hpp"

#include "shared/proto/codec.hpp"

#include <utility>

namespace parley::registry {

void messaging::on_direct(session_id id, const session& s, const proto::direct_message& m,
                          time_point now, effects& out) {
  const std::string& to = m.to.value;
  // Looked up once: whoever is online has an account, so the account is looked for only when
  // the recipient is not online (this is the registry's busiest path).
  const auto recipient = sessions_.online_id(to);
  if (!recipient && !accounts_.contains(to))
    return replies_.outcome(out, id, proto::outcome::invalid_user, to);
  if (to == s.name) return replies_.outcome(out, id, proto::outcome::cannot_message_self);
  if (blocks_.has_blocked(to, s.name))
    return replies_.outcome(out, id, proto::outcome::blocked_by_recipient);

  if (recipient) {
    replies::send(out, *recipient,
                  proto::make_delivery_frame(s.name, m.text.value, proto::delivery_kind::direct));
    return replies_.outcome(out, id, proto::outcome::message_delivered);
  }
  if (store_.count_offline(to) >= max_offline_per_recipient_)
    return replies_.outcome(out, id, proto::outcome::mailbox_full, to);
  // The acknowledgement is the durability promise: only once the row is committed.
  if (!store_.store_offline(to, s.name, m.text.value, now))
    return replies_.outcome(out, id, proto::outcome::store_failed);
  replies_.outcome(out, id, proto::outcome::message_stored);
}

void messaging::on_broadcast(session_id id, const session& s, const proto::broadcast_message& m,
                             effects& out) {
  proto::frame_ptr frame;
  bool skipped_for_block = false;
  for (const auto& [other, other_id] : sessions_.online()) {
    if (other_id == id) continue;
    if (blocks_.has_blocked(other, s.name)) {
      skipped_for_block = true;
      continue;
    }
    // One encoding, shared by every recipient.
    if (!frame)
      frame = proto::make_delivery_frame(s.name, m.text.value, proto::delivery_kind::broadcast);
    replies::send(out, other_id, frame);
  }
  replies_.outcome(
      out, id,
      skipped_for_block ? proto::outcome::broadcast_partial : proto::outcome::broadcast_sent);
}

void messaging::on_block(session_id id, const session& s, const proto::block_user& m,
                         effects& out) {
  const std::string& target = m.name.value;
  if (!accounts_.contains(target))
    return replies_.outcome(out, id, proto::outcome::invalid_user, target);
  if (target == s.name) return replies_.outcome(out, id, proto::outcome::cannot_block_self);
  if (blocks_.has_blocked(s.name, target))
    return replies_.outcome(out, id, proto::outcome::already_blocked, target);
  if (!blocks_.add(s.name, target)) return replies_.outcome(out, id, proto::outcome::store_failed);
  replies_.outcome(out, id, proto::outcome::blocked, target);
}

void messaging::on_unblock(session_id id, const session& s, const proto::unblock_user& m,
                           effects& out) {
  const std::string& target = m.name.value;
  if (!accounts_.contains(target))
    return replies_.outcome(out, id, proto::outcome::invalid_user, target);
  if (target == s.name) return replies_.outcome(out, id, proto::outcome::cannot_unblock_self);
  if (!blocks_.has_blocked(s.name, target))
    return replies_.outcome(out, id, proto::outcome::not_blocked, target);
  if (!blocks_.remove(s.name, target))
    return replies_.outcome(out, id, proto::outcome::store_failed);
  replies_.outcome(out, id, proto::outcome::unblocked, target);
}

void messaging::deliver_offline(session_id id, const std::string& user, effects& out) {
  for (auto& stored : store_.take_offline(user)) {
    proto::server_message message =
        proto::delivery{stored.sender, std::move(stored.text), proto::delivery_kind::offline};
    // Stored rows came from validated messages; a row that is not (a hand-edited database)
    // cannot be encoded, and is dropped rather than end the login.
    if (proto::validate(message)) continue;
    replies::send(out, id, proto::make_frame(message));
  }
}

}  // namespace parley::registry

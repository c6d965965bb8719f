#include "registry/core/messaging.hpp"

#include "shared/proto/codec.hpp"

#include <utility>

namespace parley::registry {

void messaging::on_direct(session_id id, const session& s, const proto::direct_message& m,
                          time_point now, effects& out) {
  const std::string& to = m.to.value;
  // Looked up once: whoever is online has an account, so the account is looked for only when
  // the recipient is not online (this is the registry's busiest path).
  // A user waiting for its resume (SPEC 11) is not reached: the message is stored, and comes
  // with the mailbox after the resume, or at the next login if the window ends.
  const auto recipient = sessions_.connected_id(to);
  if (!recipient && !accounts_.contains(to))
    return replies_.outcome(out, id, proto::outcome::invalid_user, to);
  if (to == s.name) return replies_.outcome(out, id, proto::outcome::cannot_message_self);
  if (blocks_.has_blocked(to, s.name))
    return replies_.outcome(out, id, proto::outcome::blocked_by_recipient);

  if (recipient) {
    replies_.send(out, *recipient,
                  proto::make_delivery_frame(s.name, m.text.value, proto::delivery_kind::direct));
    return replies_.outcome(out, id, proto::outcome::message_delivered);
  }
  account& mailbox = *accounts_.find(to);
  if (mailbox.stored >= max_offline_per_recipient_)
    return replies_.outcome(out, id, proto::outcome::mailbox_full, to);
  // Counted now, so that messages asked for and not yet committed count against the cap too.
  ++mailbox.stored;
  // The acknowledgement is the durability promise: it waits for the commit (on_written).
  store_.ask_before_reply(
      id, store_request::store_offline{to, s.name, m.text.value, now},
      store_waiter{
          .what = store_waiter::kind::offline_stored, .subject = to, .bytes = m.text.value.size()});
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
    replies_.send(out, other_id, frame);
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
  // In force at once; acknowledged once committed, undone if the commit fails.
  blocks_.add(s.name, target);
  store_.ask_before_reply(
      id, store_request::add_block{s.name, target},
      store_waiter{.what = store_waiter::kind::blocked, .subject = target, .other = s.name});
}

void messaging::on_unblock(session_id id, const session& s, const proto::unblock_user& m,
                           effects& out) {
  const std::string& target = m.name.value;
  if (!accounts_.contains(target))
    return replies_.outcome(out, id, proto::outcome::invalid_user, target);
  if (target == s.name) return replies_.outcome(out, id, proto::outcome::cannot_unblock_self);
  if (!blocks_.has_blocked(s.name, target))
    return replies_.outcome(out, id, proto::outcome::not_blocked, target);
  blocks_.remove(s.name, target);
  store_.ask_before_reply(
      id, store_request::remove_block{s.name, target},
      store_waiter{.what = store_waiter::kind::unblocked, .subject = target, .other = s.name});
}

proto::frame_ptr messaging::on_written(const store_waiter& waiter, bool ok) {
  using kind = store_waiter::kind;
  if (waiter.what == kind::offline_stored) {
    if (ok) return replies_.outcome_frame(proto::outcome::message_stored);
    if (account* mailbox = accounts_.find(waiter.subject); mailbox && mailbox->stored > 0)
      --mailbox->stored;
    return replies_.outcome_frame(proto::outcome::store_failed);
  }
  const bool blocking = waiter.what == kind::blocked;
  if (ok)
    return replies_.outcome_frame(blocking ? proto::outcome::blocked : proto::outcome::unblocked,
                                  waiter.subject);
  // Memory goes back to what the store still holds. (A later block or unblock of the same pair
  // that did commit is not undone by this: it asked for a state, and its own answer says so.)
  if (blocking)
    blocks_.remove(waiter.other, waiter.subject);
  else
    blocks_.add(waiter.other, waiter.subject);
  return replies_.outcome_frame(proto::outcome::store_failed);
}

}  // namespace parley::registry

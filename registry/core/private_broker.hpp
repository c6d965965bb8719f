// Private to the registry core: SPEC 8's brokering of private chats. The registry never carries
// a chat; it passes the request on, collects the y/n, and hands both sides a fresh token and the
// target's address; with SPEC 10's private_invite and private_consent it also hands each side the
// other's chat key. This class is the only code that touches a session's private_slot (the
// announced port, the offers waiting for an answer, the requests asked), so that its promise
// holds in one place: every name in a slot is an online user, because whoever leaves settles
// both sides first (settle).
#pragma once

#include "registry/core/accounts.hpp"
#include "registry/core/blocks.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/core/replies.hpp"
#include "registry/core/session.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace parley::registry {

class private_broker {
 public:
  private_broker(std::size_t max_offers, std::function<std::string()> new_token,
                 session_table& sessions, const account_book& accounts, const block_list& blocks,
                 const replies& replies)
      : max_offers_(max_offers),
        new_token_(std::move(new_token)),
        sessions_(sessions),
        accounts_(accounts),
        blocks_(blocks),
        replies_(replies) {}

  void on_listen(session& s, const proto::private_listen& m);
  void on_request(session_id id, session& s, const proto::private_request& m, effects& out);
  // The same, with the requester's chat key kept for the target's consent.
  void on_invite(session_id id, session& s, const proto::private_invite& m, effects& out);
  void on_answer(session_id id, session& s, const proto::private_answer& m, effects& out);
  // A yes with the target's chat key: when the request came with a key too, both sides are told
  // the other's (private_expect_keyed, private_granted_keyed); otherwise as a plain yes.
  void on_consent(session_id id, session& s, const proto::private_consent& m, effects& out);

  // Everyone waiting for this user's answer is told no (SPEC 8.3), oldest request first.
  void decline_waiting(session& s, effects& out);
  // The user leaves: requests waiting for its answer are declined, and its own requests are
  // withdrawn, so a later answer to one of them finds nobody waiting.
  void settle(session& s, effects& out);
  // SPEC 11: session `to` goes on with the user of `from` (resumed): the requests waiting, and
  // the port, unless `to` has announced one of its own.
  static void transfer(session& from, session& to);

 private:
  void ask(session_id id, session& s, const std::string& to,
           const std::optional<proto::chat_public_key>& key, effects& out);
  // The requester's offer, taken from the slot of `s`, who answered; nothing for an answer to
  // nobody waiting. The requester no longer waits either.
  struct answered {
    session_id requester_id;
    private_slot::offer offer;
  };
  std::optional<answered> take_offer(session& s, const std::string& requester);
  // Keys: both sides', or none (a side without one gets the unkeyed messages).
  void grant(session_id target_id, const session& target, session_id requester_id,
             const session& requester, const std::optional<proto::chat_public_key>& target_key,
             const std::optional<proto::chat_public_key>& requester_key, effects& out);
  // The requesters waiting for this user's answer; none when its slot holds nothing.
  static std::span<const private_slot::offer> offers_of(const session& s);
  static bool has_offer_from(const session& s, const std::string& requester);
  static private_slot::waiting& waiting_of(session& s);
  static void release_if_settled(session& s);
  static void forget_asked(session& requester, const std::string& target);

  std::size_t max_offers_;
  std::function<std::string()> new_token_;
  session_table& sessions_;
  const account_book& accounts_;
  const block_list& blocks_;
  const replies& replies_;
};

}  // namespace parley::registry

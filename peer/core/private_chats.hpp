// Private peer-to-peer chats (SPEC 8) as a pure state machine: the consent requests waiting for
// a y/n answer, the chats being dialed, the chats open, and the tokens the registry told this
// peer to expect. No sockets and no clock: the shell (peer/net) dials, listens and passes `now`.
//
// Chats are known by the other user's name: there is at most one chat per pair of users, so the
// name is the chat's identity for the core, and the shell keeps one connection per name.
#pragma once

#include "peer/core/effects.hpp"
#include "peer/crypto/chat_seal.hpp"
#include "shared/proto/messages.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace parley::peer {

// Consent requests waiting for a y/n answer; the registry keeps the same bound per target.
inline constexpr std::size_t max_waiting_offers = 16;
// Chats open (or being dialed) at once.
inline constexpr std::size_t max_open_chats = 64;
// Tokens remembered while their dialer is on its way; one per y answer, so this many answers
// within a token's lifetime. Past it the oldest is forgotten.
inline constexpr std::size_t max_expectations = 64;
// How long a token from private_expect stays live, counted from its receipt here.
inline constexpr std::chrono::seconds token_lifetime{proto::private_token_lifetime_seconds};

// At most this many handshakes (p2p_challenge sent) for one expectation; the next drops it. It
// bounds how many fresh nonces a man in the middle can draw for one chat (docs/PROTOCOL.md 8).
inline constexpr int max_handshake_attempts = 4;

// The listener's verdict on a p2p_open.
enum class open_verdict {
  answer,   // a live expectation for this key: run the handshake with `expected`
  unknown,  // no such key (yet): private_expect_keyed may still be on its way; ask again later
  refused,  // close the connection
};
struct open_judgement {
  open_verdict verdict = open_verdict::refused;
  chat_secrets expected;  // for answer: the requester's name, the token, both keys
};

class private_chats {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // The logged-in user, whom a dial introduces.
  void set_own_name(std::string_view name) { own_name_ = name; }

  // ------------------------------------------------ commands (the user's)
  // `startprivate <user>`: true when the request may go to the registry; otherwise the error
  // is printed (a chat with `user` is open or being dialed, or there is no room for another).
  bool may_request(std::string_view user, effects& out) const;
  // The private_invite for `user`, with a chat key pair kept until the grant or decline (the
  // last max_expectations users asked for are kept).
  proto::private_invite invite(std::string_view user);
  // The registry refused the request for `user`: its key pair goes.
  void forget_invite(std::string_view user);
  // `verify <user>`: the safety number of the open chat, or the error.
  void verify(std::string_view user, effects& out) const;
  // `private <user> <text>`: true when sent on the chat (the caller reports activity).
  bool send(std::string_view user, std::string_view text, effects& out);
  // `stopprivate <user>`: true when a chat was stopped (the caller reports activity).
  bool stop(std::string_view user, effects& out);
  // True for a user with a chat open: a line for that chat need not wait behind a registry reply.
  bool is_open(std::string_view user) const;

  // ------------------------------------------------ consent (the y/n prompt)
  // A private_offer from the registry. True when it is now the one being asked (the prompt
  // changes); a requester already waiting, or one past the bound, is declined at once.
  bool on_offer(std::string_view from, effects& out);
  // The user being asked, if any.
  std::optional<std::string> asking() const;
  // The prompt for the offer being asked.
  std::string consent_prompt() const;
  // One line typed while an offer is asked. y / n (any case, spaces around ignored) answers it
  // (private_answer sent, the next offer comes up); anything else returns false: ask again.
  bool answer(std::string_view line, effects& out);
  // The registry is gone: nobody can be told the answers.
  void drop_offers();

  // ------------------------------------------------ requester side
  // private_granted_keyed: dial the target with the invite's key pair, or say why not. A grant
  // for no invite of this peer's (or an unkeyed one: version 3 dials only keyed) is ignored.
  void on_granted(const proto::private_granted_keyed& grant, effects& out);
  // private_declined.
  void on_declined(std::string_view user, effects& out);
  // The dial to `user` ended: its handshake succeeded (the chat is open, with the safety number
  // `safety`) or not.
  void on_dialed(std::string_view user, bool opened, std::string_view safety, effects& out);

  // ------------------------------------------------ listener side
  // private_expect_keyed: accept one chat from `peer`, who holds the secret half of `peer_key`
  // and the token, until now + token_lifetime, under the key pair made for the y answer. One for
  // no consent of this peer's is ignored.
  void on_expect(const proto::private_expect_keyed& expect, time_point now);
  // Whether a live expectation names `address` as its requester's (SPEC 8.8: the listener
  // always finds room for a handshake from there).
  bool expects_address(std::string_view address, time_point now) const;
  // The first frame of an incoming connection: whose key it presents. An answer counts one of
  // the expectation's max_handshake_attempts.
  open_judgement on_open(const proto::p2p_open& opening, time_point now);
  // The handshake with `user` (the requester of the expectation for `requester_key`) succeeded:
  // the expectation is used up; true when the chat is now open (false: one with `user` already
  // is, or there is no room).
  bool on_proven(std::string_view user, const proto::chat_public_key& requester_key,
                 std::string_view safety, time_point now, effects& out);

  // ------------------------------------------------ open chats
  // A frame that arrived on the chat with `user` (decoded and validated by the shell).
  void on_chat_message(std::string_view user, const proto::p2p_message& message, effects& out);
  // The chat's connection ended (EOF, reset, bad frame). Silent if the chat was already over.
  void on_chat_closed(std::string_view user, effects& out);
  // `<user> logged out`: a chat still open with them is over.
  void on_user_offline(std::string_view user, effects& out);
  std::size_t open_count() const { return open_.size(); }
  // Chats open or being dialed.
  std::size_t active_count() const { return open_.size() + dialing_.size(); }

 private:
  struct expectation {
    std::string user;
    std::string token;
    std::string address;  // where the registry saw `user` connect from
    proto::chat_public_key peer_key{};
    std::shared_ptr<const crypto::chat_keypair> own;
    time_point received;
    int attempts = 0;
  };
  // A startprivate or a y answer waiting for the registry's grant or expectation.
  struct pending_key {
    std::string user;
    std::shared_ptr<const crypto::chat_keypair> own;
  };

  static std::shared_ptr<const crypto::chat_keypair> remember(std::vector<pending_key>& keys,
                                                              std::string_view user);
  static std::shared_ptr<const crypto::chat_keypair> take(std::vector<pending_key>& keys,
                                                          std::string_view user);
  void end_chat(std::string_view user, effects& out);
  void forget_expired(time_point now);

  std::string own_name_;
  std::deque<std::string> offers_;  // front() is being asked
  std::set<std::string, std::less<>> dialing_;
  std::map<std::string, std::string, std::less<>> open_;  // user -> safety number
  std::vector<expectation> expectations_;                 // oldest first
  std::vector<pending_key> invites_;                      // oldest first
  std::vector<pending_key> consents_;                     // oldest first
};

}  // namespace parley::peer

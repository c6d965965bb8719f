// Private peer-to-peer chats (SPEC 8) as a pure state machine: the consent requests waiting for
// a y/n answer, the chats being dialed, the chats open, and the tokens the registry told this
// peer to expect. No sockets and no clock: the shell (peer/net) dials, listens and passes `now`.
//
// Chats are known by the other user's name: there is at most one chat per pair of users, so the
// name is the chat's identity for the core, and the shell keeps one connection per name.
#pragma once

#include "peer/core/effects.hpp"
#include "shared/proto/messages.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
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

// The listener's verdict on a p2p_hello.
enum class hello_verdict {
  accepted,  // a live token for this user: the chat is open, send p2p_accept
  unknown,   // no such token (yet): private_expect may still be on its way; ask again later
  refused,   // close the connection
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
  // private_granted: dial the target, or say why not.
  void on_granted(const proto::private_granted& grant, effects& out);
  // private_declined.
  void on_declined(std::string_view user, effects& out);
  // The dial to `user` ended: with p2p_accept (the chat is open) or not.
  void on_dialed(std::string_view user, bool accepted, effects& out);

  // ------------------------------------------------ listener side
  // private_expect: accept one connection from `peer` with `token` until now + token_lifetime.
  void on_expect(const proto::private_expect& expect, time_point now);
  // private_expect_from: the same, and the address the registry saw `peer` connect from.
  void on_expect(const proto::private_expect_from& expect, time_point now);
  // Whether a live expectation names `address` as its requester's (SPEC 8.8: the listener
  // always finds room for a handshake from there).
  bool expects_address(std::string_view address, time_point now) const;
  // The first frame of an incoming connection.
  hello_verdict on_hello(const proto::p2p_hello& hello, time_point now, effects& out);

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
    std::string address;  // where the registry saw `user` connect from; empty if not told
    time_point received;
  };

  void expect(expectation e, time_point now);
  void end_chat(std::string_view user, effects& out);
  void forget_expired(time_point now);

  std::string own_name_;
  std::deque<std::string> offers_;  // front() is being asked
  std::set<std::string, std::less<>> dialing_;
  std::set<std::string, std::less<>> open_;
  std::vector<expectation> expectations_;  // oldest first
};

}  // namespace parley::peer

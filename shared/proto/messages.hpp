// Every message of the peer <-> registry protocol. docs/PROTOCOL.md describes each one.
//
// The variants are append-only: a message's index in its variant is its wire tag, so new
// messages go at the end and existing ones never move or change their fields. A change that
// cannot be made that way bumps protocol_version.
#pragma once

#include "shared/proto/bounded.hpp"

#include <cereal/types/array.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <variant>

namespace parley::proto {

// 2: offline messages carry an id and are confirmed by the peer (stored_message,
// stored_received: SPEC 6's exactly-once delivery).
// 3: the registry link runs over TLS 1.3 by default (SPEC 10); a registry refuses a client of the
// other transport with session_end{tls_required} or {tls_not_offered}.
// 4: a session can be resumed after a lost link or a registry restart (SPEC 11): the registry
// sends a session_ticket after the welcome, and a new connection presents it in resume_session
// instead of logging in.
inline constexpr std::uint16_t protocol_version = 4;

// Bounds. A frame body larger than max_frame_body is refused before it is read.
inline constexpr std::size_t max_frame_body = 64 * 1024;
inline constexpr std::size_t max_name_bytes = 32;
inline constexpr std::size_t max_password_bytes = 128;
inline constexpr std::size_t max_text_bytes = 4096;
inline constexpr std::size_t max_agent_bytes = 64;
// 1024 names of at most 32 bytes (plus 8-byte size tags) stay well inside one frame.
inline constexpr std::size_t max_names_per_list = 1024;

// Private chats (SPEC 8): a token is 128 random bits written as 32 lowercase hex digits, valid
// for this long after the registry issues it, and used once.
inline constexpr std::size_t private_token_chars = 32;
inline constexpr std::size_t max_address_bytes = 64;  // a textual IPv4 or IPv6 address
inline constexpr unsigned private_token_lifetime_seconds = 60;

using name_string = bounded_string<max_name_bytes>;
using password_string = bounded_string<max_password_bytes>;
using text_string = bounded_string<max_text_bytes>;
using agent_string = bounded_string<max_agent_bytes>;
using token_string = bounded_string<private_token_chars>;
using address_string = bounded_string<max_address_bytes>;

// Wire enums travel as one byte; validate() rejects values outside the enum. (No `bool` on the
// wire: loading a byte other than 0/1 into a bool is undefined behaviour.)

// ---------------------------------------------------------------- peer -> registry

// First frame on every connection.
struct client_hello {
  std::uint16_t version = protocol_version;
  agent_string agent;  // free text, e.g. "parley-peer/0.1"
  template <class A>
  void serialize(A& ar) {
    ar(version, agent);
  }
  bool operator==(const client_hello&) const = default;
};

// Answer to the `Username: ` prompt.
struct login_name {
  name_string name;
  template <class A>
  void serialize(A& ar) {
    ar(name);
  }
  bool operator==(const login_name&) const = default;
};

// Answer to `Password: ` or to `This is a new user. Enter a password: `.
struct login_password {
  password_string password;
  template <class A>
  void serialize(A& ar) {
    ar(password);
  }
  bool operator==(const login_password&) const = default;
};

// `message <user> <text>`
struct direct_message {
  name_string to;
  text_string text;
  template <class A>
  void serialize(A& ar) {
    ar(to, text);
  }
  bool operator==(const direct_message&) const = default;
};

// `broadcast <text>`
struct broadcast_message {
  text_string text;
  template <class A>
  void serialize(A& ar) {
    ar(text);
  }
  bool operator==(const broadcast_message&) const = default;
};

// `whoelse`
struct who_else {
  template <class A>
  void serialize(A&) {}
  bool operator==(const who_else&) const = default;
};

// `whoelsesince <seconds>`
struct who_else_since {
  std::uint64_t seconds = 0;
  template <class A>
  void serialize(A& ar) {
    ar(seconds);
  }
  bool operator==(const who_else_since&) const = default;
};

// `block <user>`
struct block_user {
  name_string name;
  template <class A>
  void serialize(A& ar) {
    ar(name);
  }
  bool operator==(const block_user&) const = default;
};

// `unblock <user>`
struct unblock_user {
  name_string name;
  template <class A>
  void serialize(A& ar) {
    ar(name);
  }
  bool operator==(const unblock_user&) const = default;
};

// `logout`
struct logout_request {
  template <class A>
  void serialize(A&) {}
  bool operator==(const logout_request&) const = default;
};

// A well-formed command that did not go through the registry (private chat traffic, a y/n
// answer): it resets the inactivity timer and nothing else.
struct activity {
  template <class A>
  void serialize(A&) {}
  bool operator==(const activity&) const = default;
};

// Sent once after the hello, before login: the port this peer accepts private chats on. The
// registry pairs it with the address it saw the peer connect from, never an address a peer claims.
struct private_listen {
  std::uint16_t port = 0;  // 1..65535
  template <class A>
  void serialize(A& ar) {
    ar(port);
  }
  bool operator==(const private_listen&) const = default;
};

// `startprivate <user>`
struct private_request {
  name_string to;
  template <class A>
  void serialize(A& ar) {
    ar(to);
  }
  bool operator==(const private_request&) const = default;
};

// A private chat's public key (X25519, crypto_kx), made fresh for each chat by each side and
// relayed by the registry to the other over the TLS link (SPEC 10). Exactly 32 bytes on the
// wire, without a size tag: nothing is sized from the input.
inline constexpr std::size_t chat_key_bytes = 32;
using chat_public_key = std::array<std::uint8_t, chat_key_bytes>;

// The y/n answer to a private_offer. Activity; the registry sends no reply to it.
struct private_answer {
  name_string requester;
  std::uint8_t accept = 0;  // 0 or 1
  template <class A>
  void serialize(A& ar) {
    ar(requester, accept);
  }
  bool operator==(const private_answer&) const = default;
};

// The peer has shown every stored_message up to and including id `up_to` (SPEC 6): the registry
// may now delete them. Not activity (receiving is not a command). An id the registry has not
// delivered on this session is ignored: a peer can only confirm what it was given.
struct stored_received {
  std::uint64_t up_to = 0;
  template <class A>
  void serialize(A& ar) {
    ar(up_to);
  }
  bool operator==(const stored_received&) const = default;
};

// `startprivate <user>` with the requester's chat key (SPEC 10): as private_request, and the
// registry hands `chat_key` to the target with its expectation if the target consents with a key
// of its own.
struct private_invite {
  name_string to;
  chat_public_key chat_key{};
  template <class A>
  void serialize(A& ar) {
    ar(to, chat_key);
  }
  bool operator==(const private_invite&) const = default;
};

// A yes to a private_offer with the target's chat key (SPEC 10); a no stays private_answer with
// accept 0. Activity; the registry sends no reply to it.
struct private_consent {
  name_string requester;
  chat_public_key chat_key{};
  template <class A>
  void serialize(A& ar) {
    ar(requester, chat_key);
  }
  bool operator==(const private_consent&) const = default;
};

// A session's resume ticket (SPEC 11): 32 random bytes the registry issued in session_ticket.
// Exactly 32 bytes on the wire, without a size tag.
inline constexpr std::size_t resume_ticket_bytes = 32;
using resume_ticket = std::array<std::uint8_t, resume_ticket_bytes>;

// Instead of login_name, right after the hello (and private_listen): go on with the session of
// `name` whose ticket this is. Answered by resume_reply; once per connection.
struct resume_session {
  name_string name;
  resume_ticket ticket{};
  template <class A>
  void serialize(A& ar) {
    ar(name, ticket);
  }
  bool operator==(const resume_session&) const = default;
};

using client_message =
    std::variant<client_hello, login_name, login_password, direct_message, broadcast_message,
                 who_else, who_else_since, block_user, unblock_user, logout_request, activity,
                 private_listen, private_request, private_answer, stored_received, private_invite,
                 private_consent, resume_session>;

// ---------------------------------------------------------------- registry -> peer

struct server_hello {
  std::uint16_t version = protocol_version;
  template <class A>
  void serialize(A& ar) {
    ar(version);
  }
  bool operator==(const server_hello&) const = default;
};

enum class login_result : std::uint8_t {
  ask_password,          // known user: prompt `Password: `
  ask_new_password,      // unknown user: prompt `This is a new user. Enter a password: `
  already_logged_in,     // `<user> is already logged in`, prompt `Username: ` again
  welcome,               // logged in
  invalid_password,      // `Invalid Password. Please try again`, prompt `Password: ` again
  invalid_now_locked,    // third failure: account locked now; the registry closes
  account_locked,        // locked before this attempt; the registry closes
  invalid_new_password,  // new password not 1..128 visible ASCII characters; prompt again
  // SPEC 9.1, each followed by the registry closing the connection:
  too_many_login_attempts,  // the address's failed-password budget is spent; nothing was checked
  new_accounts_refused,     // the address's new-account budget, or the account cap, is reached
  registry_busy,            // the password-hashing queue is full; nothing was checked
  last = registry_busy,
};

struct login_reply {
  login_result result = login_result::ask_password;
  template <class A>
  void serialize(A& ar) {
    ar(result);
  }
  bool operator==(const login_reply&) const = default;
};

enum class delivery_kind : std::uint8_t { direct, broadcast, offline, last = offline };

// A message for this user: shown as `<from>: <text>`.
struct delivery {
  name_string from;
  text_string text;
  delivery_kind kind = delivery_kind::direct;
  template <class A>
  void serialize(A& ar) {
    ar(from, text, kind);
  }
  bool operator==(const delivery&) const = default;
};

// `<user> logged in` / `<user> logged out`
struct presence {
  name_string user;
  std::uint8_t online = 0;  // 0 or 1
  template <class A>
  void serialize(A& ar) {
    ar(user, online);
  }
  bool operator==(const presence&) const = default;
};

// The outcome of one command. `subject` is the user a text names, where it names one.
enum class outcome : std::uint8_t {
  message_delivered,      // silent
  message_stored,         // silent: committed for an offline recipient
  invalid_user,           // `Error. Invalid user`
  cannot_message_self,    // `Error. Cannot message self`
  blocked_by_recipient,   // `Your message could not be delivered as the recipient has blocked you`
  broadcast_sent,         // silent
  broadcast_partial,      // `Your message could not be delivered to some recipients`
  blocked,                // `<subject> is blocked`
  already_blocked,        // `Error. <subject> is already blocked`
  cannot_block_self,      // `Error. Cannot block self`
  unblocked,              // `<subject> is unblocked`
  not_blocked,            // `Error. <subject> was not blocked`
  cannot_unblock_self,    // `Error. Cannot unblock self`
  no_other_users_online,  // `No other users online` (whoelse)
  no_other_users,         // `No other users` (whoelsesince)
  store_failed,           // the registry could not commit; nothing was stored
  mailbox_full,           // the offline recipient has too many stored messages
  // startprivate (SPEC 8.1); the registry passes a valid request on and answers at once:
  private_requested,    // silent: the target is being asked
  cannot_private_self,  // `Error. Cannot start private messaging with self`
  user_offline,         // `Error. <subject> is offline`
  private_blocked,      // `Error. Cannot start private messaging as <subject> has blocked you`
  private_pending,      // a request to <subject> is already waiting for an answer
  private_busy,         // <subject> has too many requests waiting
  private_unavailable,  // <subject> announced no private-chat port
  last = private_unavailable,
};

struct command_reply {
  outcome result = outcome::message_delivered;
  name_string subject;
  template <class A>
  void serialize(A& ar) {
    ar(result, subject);
  }
  bool operator==(const command_reply&) const = default;
};

enum class user_query : std::uint8_t { whoelse, whoelsesince, last = whoelsesince };

// One chunk of a whoelse / whoelsesince answer; `final_chunk` is 1 on the last one.
struct user_list {
  user_query query = user_query::whoelse;
  bounded_vector<name_string, max_names_per_list> names;
  std::uint8_t final_chunk = 1;  // 0 or 1
  template <class A>
  void serialize(A& ar) {
    ar(query, names, final_chunk);
  }
  bool operator==(const user_list&) const = default;
};

enum class end_reason : std::uint8_t {
  logged_out,      // answer to logout_request
  inactivity,      // `You have been logged out due to inactivity`
  shutdown,        // the registry is stopping
  login_timeout,   // login not completed in time
  protocol_error,  // the peer broke the protocol
  // SPEC 9.1: the connection was refused, the registry's cap of connections from one address
  // being reached; sent as the connection's only frame.
  too_many_connections,
  // SPEC 10: the registry uses TLS and the client spoke plain frames; sent in plain, as the
  // connection's only frame.
  tls_required,
  // SPEC 10: the registry runs with --no-tls and the client began a TLS handshake; sent in plain,
  // as the connection's only frame (a TLS client reads it as "the server does not use TLS").
  tls_not_offered,
  // SPEC 11: the registry is stopping and keeps this session's ticket: resume when it is back.
  shutdown_resumable,
  // SPEC 11: another connection resumed this session with its ticket.
  resumed_elsewhere,
  last = resumed_elsewhere,
};

// Last frame of a session; the registry closes the connection after it.
struct session_end {
  end_reason reason = end_reason::logged_out;
  template <class A>
  void serialize(A& ar) {
    ar(reason);
  }
  bool operator==(const session_end&) const = default;
};

// To the target of a startprivate: `<from> would like to private message, enter y or n: `.
struct private_offer {
  name_string from;
  template <class A>
  void serialize(A& ar) {
    ar(from);
  }
  bool operator==(const private_offer&) const = default;
};

// To the target who answered y: accept one connection from `peer` presenting `token`, within
// private_token_lifetime_seconds. Sent before the requester gets its private_granted.
struct private_expect {
  name_string peer;
  token_string token;
  template <class A>
  void serialize(A& ar) {
    ar(peer, token);
  }
  bool operator==(const private_expect&) const = default;
};

// To the requester: connect to `address`:`port` (where the registry saw the target) and present
// `token`.
struct private_granted {
  name_string peer;
  address_string address;
  std::uint16_t port = 0;
  token_string token;
  template <class A>
  void serialize(A& ar) {
    ar(peer, address, port, token);
  }
  bool operator==(const private_granted&) const = default;
};

// To the requester: `<peer> declined private messaging` (n, or the target left before answering).
struct private_declined {
  name_string peer;
  template <class A>
  void serialize(A& ar) {
    ar(peer);
  }
  bool operator==(const private_declined&) const = default;
};

// A message stored for this user while it was offline (SPEC 6): shown as `<from>: <text>`, then
// confirmed with stored_received. Ids grow with every message stored, so a peer that has shown
// id N has shown every smaller id it was sent; a message delivered again (the peer did not
// confirm it before its connection was lost) keeps its id, so a peer can tell it has shown it.
struct stored_message {
  std::uint64_t id = 0;
  name_string from;
  text_string text;
  std::int64_t sent_at_ms = 0;  // when the registry stored it, milliseconds since the Unix epoch
  template <class A>
  void serialize(A& ar) {
    ar(id, from, text, sent_at_ms);
  }
  bool operator==(const stored_message&) const = default;
};

// After the welcome and the stored messages (none, or every page of them): the peer may go on
// with what the user typed meanwhile (SPEC 3.5: the stored messages come first).
struct stored_end {
  template <class A>
  void serialize(A&) {}
  bool operator==(const stored_end&) const = default;
};

// To the target who answered y, instead of private_expect: the same, and `address`, where the
// registry saw the requester's own connection come from. The target's listener keeps room for a
// handshake from that address however many others wait (SPEC 8.8); the token alone decides
// whether it becomes the chat.
struct private_expect_from {
  name_string peer;
  token_string token;
  address_string address;
  template <class A>
  void serialize(A& ar) {
    ar(peer, token, address);
  }
  bool operator==(const private_expect_from&) const = default;
};

// SPEC 7, coalesced: the `<user> logged in` / `<user> logged out` notices of one turn of the
// registry's loop for this recipient, oldest first, each shown as a `presence` would be. One
// encoding is shared by every recipient that may see all of them, so it may list the
// recipient's own name: the peer shows nothing for that entry.
inline constexpr std::size_t max_presence_per_batch = 1024;
struct presence_batch {
  bounded_vector<presence, max_presence_per_batch> changes;
  template <class A>
  void serialize(A& ar) {
    ar(changes);
  }
  bool operator==(const presence_batch&) const = default;
};
// The largest batch (every name at its bound: a size tag, the name, the flag per change) fits in
// one frame with room to spare.
static_assert(1 + 4 + 8 + max_presence_per_batch * (8 + max_name_bytes + 1) < max_frame_body);

// To the target who consented with a key (private_consent) to a private_invite: as
// private_expect_from, and `peer_key`, the requester's chat key.
struct private_expect_keyed {
  name_string peer;
  token_string token;
  address_string address;
  chat_public_key peer_key{};
  template <class A>
  void serialize(A& ar) {
    ar(peer, token, address, peer_key);
  }
  bool operator==(const private_expect_keyed&) const = default;
};

// To the requester whose private_invite was consented to with a key: as private_granted, and
// `peer_key`, the target's chat key.
struct private_granted_keyed {
  name_string peer;
  address_string address;
  std::uint16_t port = 0;
  token_string token;
  chat_public_key peer_key{};
  template <class A>
  void serialize(A& ar) {
    ar(peer, address, port, token, peer_key);
  }
  bool operator==(const private_granted_keyed&) const = default;
};

// The session's resume ticket (SPEC 11), sent once its digest is committed: after the welcome,
// or after a re-login by ticket (resume_result::relogged). Not an answer to a command.
struct session_ticket {
  resume_ticket ticket{};
  template <class A>
  void serialize(A& ar) {
    ar(ticket);
  }
  bool operator==(const session_ticket&) const = default;
};

enum class resume_result : std::uint8_t {
  // The same session goes on: the frames held for it follow, then its stored messages and
  // stored_end. Nobody was told anything.
  resumed,
  // The session's resume window had ended (others saw it log out): a new session, announced like
  // a login; its stored messages and stored_end follow.
  relogged,
  // No session of that name has this ticket (logged out, timed out, replaced by a password
  // login, or never issued): the registry closes the connection.
  not_resumable,
  last = not_resumable,
};

// The answer to resume_session.
struct resume_reply {
  resume_result result = resume_result::not_resumable;
  template <class A>
  void serialize(A& ar) {
    ar(result);
  }
  bool operator==(const resume_reply&) const = default;
};

using server_message =
    std::variant<server_hello, login_reply, delivery, presence, command_reply, user_list,
                 session_end, private_offer, private_expect, private_granted, private_declined,
                 stored_message, stored_end, private_expect_from, presence_batch,
                 private_expect_keyed, private_granted_keyed, session_ticket, resume_reply>;

// ---------------------------------------------------------------- peer <-> peer (private chat)

// The dialer's first frame: who it is and the token the registry issued for this chat.
struct p2p_hello {
  std::uint16_t version = protocol_version;
  name_string from;
  token_string token;
  template <class A>
  void serialize(A& ar) {
    ar(version, from, token);
  }
  bool operator==(const p2p_hello&) const = default;
};

// The listener's answer to a hello with a live token issued for that user. Anything else closes.
struct p2p_accept {
  template <class A>
  void serialize(A&) {}
  bool operator==(const p2p_accept&) const = default;
};

// `private <user> <text>`: shown as `<from>(private): <text>`.
struct p2p_text {
  text_string text;
  template <class A>
  void serialize(A& ar) {
    ar(text);
  }
  bool operator==(const p2p_text&) const = default;
};

// `stopprivate <user>`: the other side shows `<from> stopped private messaging`.
struct p2p_stop {
  template <class A>
  void serialize(A&) {}
  bool operator==(const p2p_stop&) const = default;
};

// The sealed handshake of version 3 (docs/PROTOCOL.md, section 8; peer/crypto/chat_seal): four
// messages of fixed-size fields, in clear, then every frame sealed. Version 3 refuses p2p_hello
// and p2p_accept. A requester is R, a target T; the sizes are those of peer/crypto.
inline constexpr std::size_t p2p_nonce_bytes = 32;
inline constexpr std::size_t p2p_proof_bytes = 32;
inline constexpr std::size_t p2p_header_bytes = 24;
using p2p_nonce = std::array<std::uint8_t, p2p_nonce_bytes>;
using p2p_proof = std::array<std::uint8_t, p2p_proof_bytes>;
using p2p_stream_header = std::array<std::uint8_t, p2p_header_bytes>;

// 1, R to T: R's chat key (the listener finds the registry's expectation by it) and R's
// commitment to its nonce.
struct p2p_open {
  std::uint16_t version = protocol_version;
  chat_public_key requester_key{};
  p2p_proof commitment{};
  template <class A>
  void serialize(A& ar) {
    ar(version, requester_key, commitment);
  }
  bool operator==(const p2p_open&) const = default;
};

// 2, T to R: T's nonce and T's proof of its key and the token.
struct p2p_challenge {
  p2p_nonce target_nonce{};
  p2p_proof target_proof{};
  template <class A>
  void serialize(A& ar) {
    ar(target_nonce, target_proof);
  }
  bool operator==(const p2p_challenge&) const = default;
};

// 3, R to T: R's nonce (opening the commitment), the header of R's sealed frames, R's proof.
struct p2p_proof_message {
  p2p_nonce requester_nonce{};
  p2p_stream_header header{};
  p2p_proof requester_proof{};
  template <class A>
  void serialize(A& ar) {
    ar(requester_nonce, header, requester_proof);
  }
  bool operator==(const p2p_proof_message&) const = default;
};

// 4, T to R: the header of T's sealed frames and T's confirmation. Every later frame is sealed.
struct p2p_ready {
  p2p_stream_header header{};
  p2p_proof target_confirm{};
  template <class A>
  void serialize(A& ar) {
    ar(header, target_confirm);
  }
  bool operator==(const p2p_ready&) const = default;
};

// p2p_text and p2p_stop travel only sealed, inside a frame whose body is the sealed encoding.
using p2p_message = std::variant<p2p_hello, p2p_accept, p2p_text, p2p_stop, p2p_open, p2p_challenge,
                                 p2p_proof_message, p2p_ready>;

}  // namespace parley::proto

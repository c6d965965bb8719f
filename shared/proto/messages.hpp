// Every message of the peer <-> registry protocol. docs/PROTOCOL.md describes each one.
//
// The variants are append-only: a message's index in its variant is its wire tag, so new
// messages go at the end and existing ones never move or change their fields. A change that
// cannot be made that way bumps protocol_version.
#pragma once

#include "shared/proto/bounded.hpp"

#include <cstddef>
#include <cstdint>
#include <variant>

namespace parley::proto {

inline constexpr std::uint16_t protocol_version = 1;

// Bounds. A frame body larger than max_frame_body is refused before it is read.
inline constexpr std::size_t max_frame_body = 64 * 1024;
inline constexpr std::size_t max_name_bytes = 32;
inline constexpr std::size_t max_password_bytes = 128;
inline constexpr std::size_t max_text_bytes = 4096;
inline constexpr std::size_t max_agent_bytes = 64;
// 1024 names of at most 32 bytes (plus 8-byte size tags) stay well inside one frame.
inline constexpr std::size_t max_names_per_list = 1024;

using name_string = bounded_string<max_name_bytes>;
using password_string = bounded_string<max_password_bytes>;
using text_string = bounded_string<max_text_bytes>;
using agent_string = bounded_string<max_agent_bytes>;

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

using client_message =
    std::variant<client_hello, login_name, login_password, direct_message, broadcast_message,
                 who_else, who_else_since, block_user, unblock_user, logout_request, activity>;

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
  last = invalid_new_password,
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
  last = mailbox_full,
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
  last = protocol_error,
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

using server_message = std::variant<server_hello, login_reply, delivery, presence, command_reply,
                                    user_list, session_end>;

}  // namespace parley::proto

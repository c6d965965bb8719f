// Every text the peer shows to its user. SPEC.md fixes most of them byte for byte (scripts and
// graders match them), so they live in one place and nothing else spells them out.
#pragma once

#include "shared/util/host_port.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::peer::texts {

// ---------------------------------------------------------------- prompts
inline constexpr std::string_view username_prompt = "Username: ";
inline constexpr std::string_view password_prompt = "Password: ";
inline constexpr std::string_view new_password_prompt = "This is a new user. Enter a password: ";
// The command prompt on a terminal; a script's output has none (see core_config).
inline constexpr std::string_view command_prompt = "> ";
// After a Ctrl-C on an empty command line (SPEC 11: a second one logs out).
inline constexpr std::string_view interrupt_hint = "(Press Ctrl-C again to log out)";

// ---------------------------------------------------------------- login
inline constexpr std::string_view welcome = "Welcome to the greatest messaging application ever!";
inline constexpr std::string_view invalid_username = "Error. Invalid username";
inline constexpr std::string_view username_hint =
    "A username is 1 to 32 visible ASCII characters, no spaces";
inline constexpr std::string_view invalid_new_password = "Error. Invalid password";
inline constexpr std::string_view password_hint =
    "A password is 1 to 128 visible ASCII characters, no spaces";
inline constexpr std::string_view invalid_password = "Invalid Password. Please try again";
inline constexpr std::string_view invalid_now_locked =
    "Invalid Password. Your account has been blocked. Please try again later";
inline constexpr std::string_view account_locked =
    "Your account is blocked due to multiple login failures. Please try again later";
// SPEC 9.1, fixed.
inline constexpr std::string_view too_many_login_attempts =
    "Too many login attempts from your address. Please try again later";
inline constexpr std::string_view new_accounts_refused =
    "New accounts are not being accepted from your address now";
// Ours: the registry's queue of password checks is full.
inline constexpr std::string_view registry_busy =
    "Error. The registry is too busy to check a password now. Please try again later";
inline std::string already_logged_in(std::string_view user) {
  return std::string(user) + " is already logged in";
}

// ---------------------------------------------------------------- local command errors
inline constexpr std::string_view invalid_command = "Error. Invalid command";
inline constexpr std::string_view invalid_user = "Error. Invalid user";
// Hints that may follow invalid_command (SPEC 4).
inline std::string usage(std::string_view usage_line) {
  return "Usage: " + std::string(usage_line);
}
inline std::string also_called(std::string_view alias) { return "Also: " + std::string(alias); }
inline std::string example(std::string_view line) { return "Example: " + std::string(line); }
inline std::string did_you_mean(std::string_view command) {
  return "Did you mean " + std::string(command) + "?";
}
inline constexpr std::string_view message_too_long = "Error. Message too long";
inline constexpr std::string_view message_not_utf8 = "Error. Message is not valid UTF-8";
inline constexpr std::string_view too_many_pending = "Error. Too many pending commands";

// ---------------------------------------------------------------- registry replies
inline constexpr std::string_view cannot_message_self = "Error. Cannot message self";
inline constexpr std::string_view blocked_by_recipient =
    "Your message could not be delivered as the recipient has blocked you";
inline constexpr std::string_view broadcast_partial =
    "Your message could not be delivered to some recipients";
inline constexpr std::string_view cannot_block_self = "Error. Cannot block self";
inline constexpr std::string_view cannot_unblock_self = "Error. Cannot unblock self";
inline constexpr std::string_view no_other_users_online = "No other users online";
inline constexpr std::string_view no_other_users = "No other users";
inline constexpr std::string_view store_failed = "Error. The message could not be stored";
inline std::string blocked(std::string_view user) { return std::string(user) + " is blocked"; }
inline std::string already_blocked(std::string_view user) {
  return "Error. " + std::string(user) + " is already blocked";
}
inline std::string unblocked(std::string_view user) { return std::string(user) + " is unblocked"; }
inline std::string not_blocked(std::string_view user) {
  return "Error. " + std::string(user) + " was not blocked";
}
inline std::string mailbox_full(std::string_view user) {
  return "Error. " + std::string(user) + " has too many unread messages";
}

// ---------------------------------------------------------------- what others do
inline std::string delivery(std::string_view from, std::string_view escaped_text) {
  return std::string(from) + ": " + std::string(escaped_text);
}
inline std::string logged_in(std::string_view user) { return std::string(user) + " logged in"; }
inline std::string logged_out(std::string_view user) { return std::string(user) + " logged out"; }

// ---------------------------------------------------------------- private chats (SPEC 8)
inline std::string private_not_enabled(std::string_view user) {
  return "Error. Private messaging to " + std::string(user) + " not enabled";
}
// SPEC 10: `verify <user>`.
inline std::string safety_number(std::string_view user, std::string_view digits) {
  return "Safety number with " + std::string(user) + ": " + std::string(digits);
}
inline std::string private_already_enabled(std::string_view user) {
  return "Error. Private messaging with " + std::string(user) + " already enabled";
}
inline constexpr std::string_view cannot_private_self =
    "Error. Cannot start private messaging with self";
inline std::string user_offline(std::string_view user) {
  return "Error. " + std::string(user) + " is offline";
}
inline std::string private_blocked(std::string_view user) {
  return "Error. Cannot start private messaging as " + std::string(user) + " has blocked you";
}
// Ours (SPEC is silent): the registry refused to pass the request on.
inline std::string private_pending(std::string_view user) {
  return "Error. A private messaging request to " + std::string(user) + " is already waiting";
}
inline std::string private_busy(std::string_view user) {
  return "Error. " + std::string(user) + " has too many private messaging requests waiting";
}
inline std::string private_unavailable(std::string_view user) {
  return "Error. " + std::string(user) + " cannot accept private messaging";
}
inline constexpr std::string_view too_many_private_chats = "Error. Too many private chats";
// The consent prompt; the next line answers it.
inline std::string consent_prompt(std::string_view from) {
  return std::string(from) + " would like to private message, enter y or n: ";
}
inline std::string private_declined(std::string_view user) {
  return std::string(user) + " declined private messaging";
}
inline std::string private_accepts(std::string_view user) {
  return std::string(user) + " accepts private messaging";
}
inline std::string private_started(std::string_view user) {
  return "Start private messaging with " + std::string(user);
}
// Ours: the dial or the handshake to the target failed.
inline std::string private_unreachable(std::string_view user) {
  return "Error. Could not connect to " + std::string(user) + " for private messaging";
}
// Ours (SPEC 8.8): the private-chat listener's bounds bit. Shown at most once per 10 s each,
// with the count of those not shown (`suffix`), above the prompt; a script gets them on stderr.
inline std::string handshake_refused(std::string_view address, std::size_t waiting,
                                     bool per_address, std::string_view suffix) {
  return "Refused a private-chat connection from " + std::string(address) + ": " +
         std::to_string(waiting) +
         (per_address ? " connections from it are waiting for their handshake, the "
                        "--max-chat-handshakes-per-address bound"
                      : " connections are waiting for their handshake, the "
                        "--max-chat-handshakes bound") +
         std::string(suffix);
}
inline std::string handshake_evicted(std::string_view evicted, std::string_view expected,
                                     std::string_view suffix) {
  return "Closed a private-chat connection from " + std::string(evicted) +
         " that had not said who it is, to make room for one from " + std::string(expected) +
         ", where a requester you accepted is" + std::string(suffix);
}
inline std::string private_delivery(std::string_view from, std::string_view escaped_text) {
  return std::string(from) + "(private): " + std::string(escaped_text);
}
inline std::string private_stopped(std::string_view user) {
  return "Private messaging with " + std::string(user) + " stopped";
}
inline std::string private_stopped_by(std::string_view user) {
  return std::string(user) + " stopped private messaging";
}
inline std::string private_ended(std::string_view user) {
  return "Private messaging with " + std::string(user) + " ended";
}

// ---------------------------------------------------------------- endings
inline constexpr std::string_view logged_out_inactivity =
    "You have been logged out due to inactivity";
inline constexpr std::string_view registry_shut_down = "The registry has shut down";
inline constexpr std::string_view login_timed_out = "Error. Login timed out";
inline constexpr std::string_view registry_protocol_error =
    "Error. The registry closed the connection (protocol error)";
inline constexpr std::string_view lost_connection = "Error. Lost connection to the registry";
// SPEC 9.1, fixed.
inline constexpr std::string_view too_many_connections = "Too many connections from your address";
// Ours: after lost_connection, when private chats are still open.
inline constexpr std::string_view chats_go_on =
    "Private chats go on; other commands need the registry";
inline constexpr std::string_view not_connected = "Error. Not connected to the registry";
// SPEC 11, fixed: the session resumed after a lost link.
inline constexpr std::string_view reconnected = "Reconnected to the registry";
// Ours, SPEC 11's: hints and the ends of reconnecting.
inline constexpr std::string_view reconnecting_hint =
    "Reconnecting to the registry; private chats go on";
inline constexpr std::string_view not_connected_hint =
    "Reconnecting; try again after \"Reconnected to the registry\"";
inline constexpr std::string_view relogged_hint =
    "The session had ended: others saw you log out and back in";
inline constexpr std::string_view could_not_resume =
    "Error. The registry could not resume the session";
inline constexpr std::string_view start_again_hint = "Start the peer again to log in";
inline constexpr std::string_view could_not_reconnect =
    "Error. Could not reconnect to the registry";
inline std::string gave_up_hint(long long seconds) {
  return "Gave up after " + std::to_string(seconds) + " s; start the peer again to log in";
}
inline constexpr std::string_view resumed_elsewhere = "Error. The session was resumed elsewhere";
// SPEC 6, fixed: after lost_connection, one line per command the registry had not answered.
inline std::string not_confirmed(std::string_view escaped_line) {
  return "Error. Not confirmed by the registry: " + std::string(escaped_line);
}
inline std::string cannot_connect(std::string_view host, unsigned port, std::string_view reason) {
  return "Error. Cannot connect to the registry at " + parley::host_port(host, port) + ": " +
         std::string(reason);
}

// SPEC 10, fixed: the registry presented a key other than the one pinned for its address.
inline std::string registry_identity_changed(std::string_view fingerprint) {
  return "Error. The registry's identity has changed: " + std::string(fingerprint);
}
// Ours, the hint after it: which pin, and how to accept the new key.
inline std::string registry_identity_hint(std::string_view address, std::string_view pinned,
                                          std::size_t line, std::string_view file) {
  return "The key pinned for " + std::string(address) + " is " + std::string(pinned) + " (line " +
         std::to_string(line) + " of " + std::string(file) +
         "); if the registry's key was changed on purpose, delete that line and connect again";
}
// Ours (SPEC 10: a mismatch fails at once with a clear line), each with its hint.
inline constexpr std::string_view registry_without_tls = "Error. The registry does not use TLS";
inline constexpr std::string_view registry_without_tls_hint =
    "It runs with --no-tls: start the peer with --no-tls too, or ask for TLS to be turned on";
inline constexpr std::string_view registry_requires_tls = "Error. The registry requires TLS";
inline constexpr std::string_view registry_requires_tls_hint = "Start the peer without --no-tls";
inline std::string registry_tls_failed(std::string_view reason) {
  return "Error. TLS with the registry failed: " + std::string(reason);
}
inline std::string registry_certificate_refused(std::string_view reason) {
  return "Error. The registry's certificate was not accepted: " + std::string(reason);
}
inline std::string cannot_check_registry(std::string_view reason) {
  return "Error. Cannot check the registry's identity: " + std::string(reason);
}

}  // namespace parley::peer::texts

// What the peer's pure core asks its shell to do: lines to show, prompts, messages for the
// registry, and the end of the program. The shell applies them in order.
#pragma once

#include "peer/crypto/chat_seal.hpp"
#include "shared/proto/messages.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace parley::peer {

inline constexpr int exit_success = 0;
inline constexpr int exit_failure = 1;
// Ctrl-C before login, as a shell reports a program that SIGINT ended.
inline constexpr int exit_interrupted = 130;

// What a prompt asks for: --json names it (docs: README, "--json").
enum class prompt_kind : std::uint8_t {
  none,  // nothing is asked (done, or between a login answer and its reply)
  username,
  password,
  new_password,
  command,
  consent,  // a chat request's y/n
};

// The prompt in front of the input line.
struct prompt {
  std::string text;
  bool hidden = false;   // a password: typed characters are not shown
  bool history = false;  // lines typed here go into the history (commands only, never secrets)
  // A question that interrupts the session (a chat request): the half-typed line is set aside
  // while it shows and comes back after the answer.
  bool aside = false;
  prompt_kind kind = prompt_kind::none;
  bool operator==(const prompt&) const = default;
};

// What a printed line reports. The shell presents some kinds with more than their text (the
// time, a colour for the name, the bell), and --json gives their parts as fields.
enum class line_kind : std::uint8_t {
  notice,           // a reply, an error, a hint, help: the text alone
  direct,           // a live direct message: `<user>: <text>`
  broadcast,        // `<user>: <text>`
  offline,          // a stored message shown after login: `<user>: <text>`, sent at sent_at_ms
  private_message,  // `<user>(private): <text>`
  presence,         // `<user> logged in` / `<user> logged out`
};

// One finished line of output (no '\n'); on a terminal it goes above the prompt.
struct print_line {
  std::string text;
  line_kind kind = line_kind::notice;
  std::string user;     // not a notice: the sender, or whose presence; `text` starts with it
  std::string body;     // a message's text as received (not escaped)
  bool online = false;  // presence: logged in, or out
  std::int64_t sent_at_ms = 0;  // offline: when the registry stored it (Unix epoch)
  bool operator==(const print_line&) const = default;
};

// A message line: its text as SPEC shows it, with its parts beside.
inline print_line message_line(line_kind kind, std::string text, std::string user, std::string body,
                               std::int64_t sent_at_ms = 0) {
  print_line line;
  line.text = std::move(text);
  line.kind = kind;
  line.user = std::move(user);
  line.body = std::move(body);
  line.sent_at_ms = sent_at_ms;
  return line;
}
// A presence line: `text` says who logged in or out.
inline print_line presence_line(std::string text, std::string user, bool online) {
  print_line line;
  line.text = std::move(text);
  line.kind = line_kind::presence;
  line.user = std::move(user);
  line.online = online;
  return line;
}
// Any other line: a notice.
inline print_line notice_line(std::string text) {
  print_line line;
  line.text = std::move(text);
  return line;
}

// The core wants the next input line and shows this prompt. A script's output gets the prompt
// text (without a newline) each time, as `read -p` does; a terminal just updates its prompt.
struct show_prompt {
  peer::prompt prompt;
  bool operator==(const show_prompt&) const = default;
};

using display_item = std::variant<print_line, show_prompt>;

// Private chats (SPEC 8): what the core asks of the peer-to-peer network.
// What one chat's sealed handshake needs (docs/PROTOCOL.md, section 8): both names in role order
// (the requester typed startprivate, the target answered y), the registry's token, this side's
// key pair for the chat and the other side's public key, as the registry relayed it.
struct chat_secrets {
  std::string requester;
  std::string target;
  std::string token;
  std::shared_ptr<const crypto::chat_keypair> own;
  proto::chat_public_key peer_key{};
  bool operator==(const chat_secrets&) const = default;
};
// Connect to `address`:`port` and run the requester's handshake; the shell reports the outcome.
struct dial_chat {
  std::string user;
  std::string address;
  std::uint16_t port = 0;
  chat_secrets secrets;
  bool operator==(const dial_chat&) const = default;
};
// Send one message on the open chat with `user`.
struct send_on_chat {
  std::string user;
  proto::p2p_message message;
  bool operator==(const send_on_chat&) const = default;
};
// Close the chat with `user`: after what is queued has gone out (a stop), or at once.
struct close_chat {
  std::string user;
  bool flush = false;
  bool operator==(const close_chat&) const = default;
};

using chat_action = std::variant<dial_chat, send_on_chat, close_chat>;

struct effects {
  std::vector<display_item> display;         // in order
  std::vector<proto::client_message> sends;  // to the registry, in order
  std::vector<chat_action> chats;            // to the private-chat network, in order
  std::optional<int> exit_code;              // set once: the program ends with this code
  // SPEC 11: the registry link is lost and the session may be resumed: the shell tries to
  // connect again (after its back-off), then calls peer_core::on_reconnected, or
  // on_reconnect_given_up once it stops trying.
  bool reconnect = false;

  void print(std::string text) { display.emplace_back(notice_line(std::move(text))); }
  void print(print_line line) { display.emplace_back(std::move(line)); }
  void print(std::string_view text) { print(std::string(text)); }
  void print(const char* text) { print(std::string(text)); }
  void clear() {
    display.clear();
    sends.clear();
    chats.clear();
    exit_code.reset();
    reconnect = false;
  }
};

}  // namespace parley::peer

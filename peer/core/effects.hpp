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

// The prompt in front of the input line.
struct prompt {
  std::string text;
  bool hidden = false;   // a password: typed characters are not shown
  bool history = false;  // lines typed here go into the history (commands only, never secrets)
  // A question that interrupts the session (a chat request): the half-typed line is set aside
  // while it shows and comes back after the answer.
  bool aside = false;
  bool operator==(const prompt&) const = default;
};

// One finished line of output (no '\n'); on a terminal it goes above the prompt.
struct print_line {
  std::string text;
  bool operator==(const print_line&) const = default;
};

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

  void print(std::string text) { display.emplace_back(print_line{std::move(text)}); }
  void print(std::string_view text) { print(std::string(text)); }
  void print(const char* text) { print(std::string(text)); }
  void clear() {
    display.clear();
    sends.clear();
    chats.clear();
    exit_code.reset();
  }
};

}  // namespace parley::peer

// What the peer's pure core asks its shell to do: lines to show, prompts, messages for the
// registry, and the end of the program. The shell applies them in order.
#pragma once

#include "shared/proto/messages.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace parley::peer {

inline constexpr int exit_success = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

// The prompt in front of the input line.
struct prompt {
  std::string text;
  bool hidden = false;   // a password: typed characters are not shown
  bool history = false;  // lines typed here go into the history (commands only, never secrets)
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

struct effects {
  std::vector<display_item> display;         // in order
  std::vector<proto::client_message> sends;  // to the registry, in order
  std::optional<int> exit_code;              // set once: the program ends with this code

  void print(std::string text) { display.emplace_back(print_line{std::move(text)}); }
  void print(std::string_view text) { print(std::string(text)); }
  void print(const char* text) { print(std::string(text)); }
  void clear() {
    display.clear();
    sends.clear();
    exit_code.reset();
  }
};

}  // namespace parley::peer

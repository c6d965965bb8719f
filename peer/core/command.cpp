#include "peer/core/command.hpp"

#include "peer/core/texts.hpp"
#include "shared/proto/messages.hpp"
#include "shared/proto/text.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <vector>

namespace parley::peer {
namespace {

constexpr std::array<std::string_view, 1> startprivate_aliases{"privatestart"};

constexpr std::array<command_info, 12> commands{{
    {"message", "<user> <message>", "Send a message (kept for <user> if offline)",
     "message luke Are you free at noon?", true},
    {"broadcast", "<message>", "Send a message to everyone online", "broadcast Lunch is ready",
     false},
    {"whoelse", "", "List the other users online", "whoelse", false},
    {"whoelsesince", "<seconds>", "List the users online in the past <seconds>", "whoelsesince 600",
     false},
    {"block", "<user>", "Stop <user> from messaging you or seeing you online", "block vader", true},
    {"unblock", "<user>", "Undo block", "unblock vader", true},
    {"startprivate", "<user>", "Ask <user> for a private chat", "startprivate luke", true,
     startprivate_aliases},
    {"private", "<user> <message>", "Send a message in your private chat with <user>",
     "private luke Meet me at the hangar", true},
    {"stopprivate", "<user>", "End your private chat with <user>", "stopprivate luke", true},
    {"verify", "<user>", "Show the safety number of your private chat with <user>", "verify luke",
     true},
    {"logout", "", "Log out and quit", "logout", false},
    {"help", "[<command>]", "Show this list, or how to use <command>", "help message", false},
}};

bool is_blank_text(std::string_view text) {
  return text.find_first_not_of(" \t") == std::string_view::npos;
}

std::string_view strip_trailing_spaces(std::string_view text) {
  const auto last = text.find_last_not_of(' ');
  return last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
}

// The words of a line that has no free-text tail. An empty word (two spaces in a row) is kept,
// so the caller's argument count rejects it.
std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  for (;;) {
    const auto space = line.find(' ');
    words.push_back(line.substr(0, space));
    if (space == std::string_view::npos) return words;
    line.remove_prefix(space + 1);
  }
}

// A whole number of seconds: digits only; a value past the largest count saturates.
std::optional<std::uint64_t> parse_seconds(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (max - digit) / 10 ? max : value * 10 + digit;
  }
  return value;
}

std::optional<parse_error> check_user(std::string_view user) {
  if (!proto::is_valid_name(user)) return parse_error::invalid_user;
  return std::nullopt;
}

std::optional<parse_error> check_text(std::string_view text) {
  if (is_blank_text(text)) return parse_error::invalid_command;
  if (text.size() > proto::max_text_bytes) return parse_error::message_too_long;
  if (!proto::is_valid_utf8(text)) return parse_error::message_not_utf8;
  return std::nullopt;
}

// The table's name for a command typed as `typed` (an alias or the name itself); anything else
// is returned as it is, and the parser refuses it.
std::string_view canonical_name(std::string_view typed) {
  const auto* info = find_command(typed);
  return info ? info->name : typed;
}

// `<user> <message>`: the user, then everything after the single space that follows it.
template <class Command>
parse_result parse_user_and_text(std::string_view arguments) {
  const auto space = arguments.find(' ');
  if (space == std::string_view::npos || space == 0) return parse_error::invalid_command;
  const auto user = arguments.substr(0, space);
  const auto text = arguments.substr(space + 1);
  if (is_blank_text(text)) return parse_error::invalid_command;
  if (auto error = check_user(user)) return *error;
  if (auto error = check_text(text)) return *error;
  return Command{std::string(user), std::string(text)};
}

// `<command> <user>`, trailing spaces already removed.
template <class Command>
parse_result parse_user_only(const std::vector<std::string_view>& words) {
  if (words.size() != 2 || words[1].empty()) return parse_error::invalid_command;
  if (auto error = check_user(words[1])) return *error;
  return Command{std::string(words[1])};
}

}  // namespace

bool needs_registry_answer(const command& cmd) {
  return !(std::holds_alternative<private_command>(cmd) ||
           std::holds_alternative<stopprivate_command>(cmd) ||
           std::holds_alternative<verify_command>(cmd) ||
           std::holds_alternative<help_command>(cmd) ||
           std::holds_alternative<logout_command>(cmd));
}

std::string_view strip_carriage_return(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool is_blank(std::string_view line) { return is_blank_text(strip_carriage_return(line)); }

parse_result parse_command(std::string_view raw_line) {
  const auto line = strip_carriage_return(raw_line);
  const auto space = line.find(' ');
  const auto name = canonical_name(line.substr(0, space));
  const auto tail = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);

  // Commands whose last argument is free text: nothing after the name is trimmed.
  if (name == "message") {
    if (space == std::string_view::npos) return parse_error::invalid_command;
    return parse_user_and_text<message_command>(tail);
  }
  if (name == "private") {
    if (space == std::string_view::npos) return parse_error::invalid_command;
    return parse_user_and_text<private_command>(tail);
  }
  if (name == "broadcast") {
    if (space == std::string_view::npos) return parse_error::invalid_command;
    if (auto error = check_text(tail)) return *error;
    return broadcast_command{std::string(tail)};
  }

  const auto words = split_words(strip_trailing_spaces(line));
  const auto command_name = canonical_name(words.front());
  if (command_name == "whoelse") {
    if (words.size() != 1) return parse_error::invalid_command;
    return whoelse_command{};
  }
  if (command_name == "whoelsesince") {
    if (words.size() != 2) return parse_error::invalid_command;
    const auto seconds = parse_seconds(words[1]);
    if (!seconds) return parse_error::invalid_command;
    return whoelsesince_command{*seconds};
  }
  if (command_name == "logout") {
    if (words.size() != 1) return parse_error::invalid_command;
    return logout_command{};
  }
  if (command_name == "help") {
    if (words.size() == 1) return help_command{};
    const auto* topic = words.size() == 2 ? find_command(words[1]) : nullptr;
    if (!topic) return parse_error::invalid_command;
    return help_command{std::string(topic->name)};
  }
  if (command_name == "block") return parse_user_only<block_command>(words);
  if (command_name == "unblock") return parse_user_only<unblock_command>(words);
  if (command_name == "stopprivate") return parse_user_only<stopprivate_command>(words);
  if (command_name == "startprivate") return parse_user_only<startprivate_command>(words);
  if (command_name == "verify") return parse_user_only<verify_command>(words);
  return parse_error::invalid_command;
}

std::string_view describe(parse_error error) {
  switch (error) {
    case parse_error::invalid_command: return texts::invalid_command;
    case parse_error::invalid_user: return texts::invalid_user;
    case parse_error::message_too_long: return texts::message_too_long;
    case parse_error::message_not_utf8: return texts::message_not_utf8;
  }
  return texts::invalid_command;
}

std::span<const command_info> command_table() { return commands; }

const command_info* find_command(std::string_view name) {
  for (const auto& info : commands) {
    if (info.name == name) return &info;
    for (const auto alias : info.aliases)
      if (alias == name) return &info;
  }
  return nullptr;
}

std::string usage_of(const command_info& info) {
  std::string usage(info.name);
  if (!info.arguments.empty()) usage += " " + std::string(info.arguments);
  return usage;
}

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The edit distance between `a` and `b` (insertions, deletions, substitutions and swaps of two
// neighbours, each costing one; letters compared without case), stopping early: anything over
// `limit` is reported as limit + 1. Names are short (a command word is bounded before this).
std::size_t typo_distance(std::string_view a, std::string_view b, std::size_t limit) {
  const auto width = b.size() + 1;
  std::vector<std::size_t> rows(3 * width);
  auto* before = rows.data();
  auto* previous = before + width;
  auto* current = previous + width;
  for (std::size_t j = 0; j < width; ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    std::size_t best = current[0];
    for (std::size_t j = 1; j < width; ++j) {
      const bool same = lower(a[i - 1]) == lower(b[j - 1]);
      current[j] =
          std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        current[j] = std::min(current[j], before[j - 2] + 1);
      best = std::min(best, current[j]);
    }
    if (best > limit) return limit + 1;
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return std::min(previous[b.size()], limit + 1);
}

// Longer than any name or alias: a longer word is no typo of one.
constexpr std::size_t longest_typo = 16;

}  // namespace

const command_info* nearest_command(std::string_view word) {
  if (word.empty() || word.size() > longest_typo) return nullptr;
  // One slip in a word of up to 6 letters ("lgout", "mesage"; "hello" is not "help"), two in a
  // longer one ("mesasge", "whoelesince").
  const std::size_t limit = word.size() <= 6 ? 1 : 2;
  const command_info* nearest = nullptr;
  std::size_t nearest_distance = limit + 1;
  const auto consider = [&](const command_info& info, std::string_view name) {
    const auto distance = typo_distance(word, name, limit);
    if (distance < nearest_distance) {
      nearest = &info;
      nearest_distance = distance;
    }
  };
  for (const auto& info : commands) {
    consider(info, info.name);
    for (const auto alias : info.aliases) consider(info, alias);
  }
  if (nearest) return nearest;
  // The start of a name ("who", "stop"): the first such command in the table's order.
  if (word.size() >= 3)
    for (const auto& info : commands)
      if (info.name.size() > word.size() && info.name.substr(0, word.size()) == word) return &info;
  return nullptr;
}

std::optional<std::string> invalid_command_hint(std::string_view raw_line) {
  const auto line = strip_carriage_return(raw_line);
  const auto words = split_words(strip_trailing_spaces(line));
  if (const auto* info = find_command(words.front())) {
    // `help <something else>`: the command meant, if it is close; else how to use help.
    if (info->name == "help" && words.size() == 2)
      if (const auto* meant = nearest_command(words[1]))
        return texts::did_you_mean("help " + std::string(meant->name));
    return texts::usage(usage_of(*info));
  }
  if (const auto* meant = nearest_command(words.front()))
    return texts::did_you_mean(std::string(meant->name));
  return std::nullopt;
}

}  // namespace parley::peer

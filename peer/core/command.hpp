// The command line language of SPEC 4: one typed line in, a typed command or the local error
// it earns out. Pure: no I/O, no state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace parley::peer {

// `message <user> <message>`
struct message_command {
  std::string to;
  std::string text;
  bool operator==(const message_command&) const = default;
};
// `broadcast <message>`
struct broadcast_command {
  std::string text;
  bool operator==(const broadcast_command&) const = default;
};
// `whoelse`
struct whoelse_command {
  bool operator==(const whoelse_command&) const = default;
};
// `whoelsesince <time>`; a time past the largest count saturates.
struct whoelsesince_command {
  std::uint64_t seconds = 0;
  bool operator==(const whoelsesince_command&) const = default;
};
// `block <user>`
struct block_command {
  std::string user;
  bool operator==(const block_command&) const = default;
};
// `unblock <user>`
struct unblock_command {
  std::string user;
  bool operator==(const unblock_command&) const = default;
};
// `logout`
struct logout_command {
  bool operator==(const logout_command&) const = default;
};
// `startprivate <user>` or `privatestart <user>`
struct startprivate_command {
  std::string user;
  bool operator==(const startprivate_command&) const = default;
};
// `private <user> <message>`
struct private_command {
  std::string to;
  std::string text;
  bool operator==(const private_command&) const = default;
};
// `stopprivate <user>`
struct stopprivate_command {
  std::string user;
  bool operator==(const stopprivate_command&) const = default;
};
// `verify <user>`: the safety number of the private chat with `user` (SPEC 10).
struct verify_command {
  std::string user;
  bool operator==(const verify_command&) const = default;
};
// `help`, or `help <command>` for one command's usage and an example.
struct help_command {
  std::string topic;  // the command's table name (an alias is taken for it); empty: the list
  bool operator==(const help_command&) const = default;
};

using command =
    std::variant<message_command, broadcast_command, whoelse_command, whoelsesince_command,
                 block_command, unblock_command, logout_command, startprivate_command,
                 private_command, stopprivate_command, verify_command, help_command>;

// True for the commands the registry answers (message, broadcast, whoelse, whoelsesince, block,
// unblock, startprivate); false for those the peer handles itself and for logout, whose end
// is the session's.
bool needs_registry_answer(const command& cmd);

// Why a line is not a command; each has its text (texts.hpp) through describe().
enum class parse_error {
  invalid_command,   // not a command, wrong argument count, empty message, bad time
  invalid_user,      // a <user> no account can have (not 1..32 visible ASCII)
  message_too_long,  // a body over proto::max_text_bytes
  message_not_utf8,  // a body that is not well-formed UTF-8
};

using parse_result = std::variant<command, parse_error>;

// Parses one line (without its '\n'; one trailing '\r' is ignored). Arguments are separated by
// single spaces; a <message> is the rest of the line, spaces kept. Commands without a free-text
// tail ignore trailing spaces (Tab completion leaves one).
parse_result parse_command(std::string_view line);

std::string_view describe(parse_error error);

// The line without one trailing '\r' (a script written on Windows).
std::string_view strip_carriage_return(std::string_view line);

// True for a line with nothing but spaces (after the '\r' is stripped): it is skipped, not an
// error, as a shell skips an empty command line.
bool is_blank(std::string_view line);

// One row of `help`, and what the parser and Tab completion know about a command.
struct command_info {
  std::string_view name;
  std::string_view arguments;  // as shown by help, e.g. "<user> <message>"
  std::string_view summary;
  std::string_view example;  // a whole line that runs the command, for `help <command>`
  bool user_argument;        // the first argument is a user name (Tab completes it)
  // Other names the parser takes for the command; help lists them, completion offers only `name`.
  std::span<const std::string_view> aliases = {};
};

// Every command, in the order help lists them.
std::span<const command_info> command_table();

// The command called `name` or one of its aliases; nullptr if there is none.
const command_info* find_command(std::string_view name);

// `<name> <arguments>`, as help and the usage hint show a command.
std::string usage_of(const command_info& info);

// The hint line that follows `Error. Invalid command` for `line` (SPEC 4), if there is one: the
// usage when the line starts with a command's name (the arguments were wrong), `Did you mean
// <command>?` when the first word is close to one (a typo, another case, a prefix), else none.
std::optional<std::string> invalid_command_hint(std::string_view line);

// The command nearest to `word`, if one is close enough to be what was meant.
const command_info* nearest_command(std::string_view word);

}  // namespace parley::peer

// IRC lines (RFC 1459 / 2812 message syntax), split into views without allocating:
//   [":" prefix " "] command { " " param } [" :" trailing] CR LF
// Only what the benchmark needs: the sender's nick, the command or numeric, the parameters.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

// RFC 2812: at most 15 parameters, the trailing one included.
inline constexpr std::size_t max_irc_params = 15;
// RFC 2812: 512 bytes with the CR LF. Servers send no longer lines; a longer one is refused.
inline constexpr std::size_t max_irc_line_bytes = 512;

struct irc_line {
  std::string_view prefix;   // without the ':'; empty when the server sent none
  std::string_view nick;     // the prefix up to '!' or '@': who sent it
  std::string_view command;  // e.g. "PRIVMSG", "PING", "001"
  std::array<std::string_view, max_irc_params> params{};
  std::size_t param_count = 0;

  std::string_view param(std::size_t i) const { return i < param_count ? params[i] : ""; }
  // The last parameter (the text of a PRIVMSG, the token of a PING).
  std::string_view last() const { return param_count ? params[param_count - 1] : ""; }
  bool is_numeric() const;
};

// One line without its line ending. Nothing for a line with no command.
std::optional<irc_line> parse_irc_line(std::string_view line);

// Takes the first complete line (CR LF, or a bare LF as some servers send) off `data`. Nothing
// when no line end has arrived yet.
std::optional<std::string_view> take_irc_line(std::string_view& data);

// The answer to a server's PING: "PONG :<token>\r\n".
void append_pong(std::string& out, std::string_view token);

}  // namespace parley::bench

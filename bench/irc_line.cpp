#include "bench/irc_line.hpp"

namespace parley::bench {

bool irc_line::is_numeric() const {
  constexpr std::size_t numeric_digits = 3;
  if (command.size() != numeric_digits) return false;
  for (char c : command)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<irc_line> parse_irc_line(std::string_view line) {
  irc_line out;
  const auto skip_spaces = [&line] {
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  };
  const auto word = [&line] {
    const auto end = line.find(' ');
    const auto w = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    return w;
  };
  if (!line.empty() && line.front() == ':') {
    line.remove_prefix(1);
    out.prefix = word();
    out.nick = out.prefix.substr(0, out.prefix.find_first_of("!@"));
  }
  skip_spaces();
  out.command = word();
  if (out.command.empty()) return std::nullopt;
  while (out.param_count < max_irc_params) {
    skip_spaces();
    if (line.empty()) break;
    // The trailing parameter takes the rest of the line, spaces and all; so does the 15th.
    if (line.front() == ':' || out.param_count + 1 == max_irc_params) {
      if (line.front() == ':') line.remove_prefix(1);
      out.params[out.param_count++] = line;
      break;
    }
    out.params[out.param_count++] = word();
  }
  return out;
}

std::optional<std::string_view> take_irc_line(std::string_view& data) {
  const auto end = data.find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  auto line = data.substr(0, end);
  data.remove_prefix(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

void append_pong(std::string& out, std::string_view token) {
  out.append("PONG :");
  out.append(token);
  out.append("\r\n");
}

}  // namespace parley::bench

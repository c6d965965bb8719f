// What a terminal would show for the bytes a program wrote to it, line by line, so that tests can
// match lines even though readline redraws its prompt with carriage returns and escape sequences.
// Only what a line-oriented program uses is rendered: printable bytes, \r, \n, \b, and the CSI
// sequences that move the cursor along the line or erase it. Everything else (colours, modes such
// as bracketed paste, cursor up/down) is dropped. Lines have no width limit: nothing wraps.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::e2e {

class screen {
 public:
  // Renders more output; an escape sequence may be split across calls.
  void feed(std::string_view bytes);

  // Lines ended by a newline, in order; trailing spaces are part of a line only if printed.
  const std::vector<std::string>& lines() const { return lines_; }
  // The line the cursor is on (a prompt, say), not yet ended by a newline.
  const std::string& current_line() const { return current_; }

  // Searches the text after the read mark for `text` (which may span lines, joined with '\n');
  // on success moves the mark past it.
  bool consume(std::string_view text);
  // Searches the finished lines after the read mark for one equal to `line` (trailing spaces
  // ignored, as a terminal cannot show them); on success moves the mark to the next line.
  bool consume_line(std::string_view line);
  // The index of the line the read mark is on (lines().size() when it is on the current line).
  std::size_t mark_line() const { return mark_line_; }
  // The text after the read mark, for failure messages.
  std::string unread() const;
  // Everything, the current line included.
  std::string text() const;

 private:
  enum class parse_state { ground, escape, csi, osc, osc_escape, charset };

  void put(char c);
  void end_line();
  void apply_csi(char final_byte);
  // Where the unread part of line `index` starts (the whole line if it was redrawn since).
  std::size_t unread_from(std::size_t index) const;
  const std::string& line_at(std::size_t index) const;
  void mark(std::size_t index, std::size_t column);

  std::vector<std::string> lines_;
  std::string current_;
  std::size_t column_ = 0;

  parse_state state_ = parse_state::ground;
  std::string csi_params_;

  // The read mark: line index (lines_.size() is the current line), column, and what the line
  // held up to that column when it was marked.
  std::size_t mark_line_ = 0;
  std::size_t mark_column_ = 0;
  std::string mark_prefix_;
};

}  // namespace parley::e2e

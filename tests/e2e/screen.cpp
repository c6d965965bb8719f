#include "tests/e2e/screen.hpp"

#include <algorithm>
#include <charconv>

namespace parley::e2e {

namespace {

constexpr char escape_byte = '\x1b';
constexpr char bell_byte = '\x07';
constexpr char delete_byte = '\x7f';

// The first numeric parameter of a CSI sequence, or `fallback` when it has none.
std::size_t first_parameter(std::string_view params, std::size_t fallback) {
  // Private-mode sequences start with '?', '>' or '='; they carry no count we act on.
  if (!params.empty() && (params.front() < '0' || params.front() > '9')) return fallback;
  std::size_t value = 0;
  const auto end = params.data() + params.size();
  const auto [ptr, error] = std::from_chars(params.data(), end, value);
  if (error != std::errc() || ptr == params.data()) return fallback;
  return value;
}

std::string_view without_trailing_spaces(std::string_view text) {
  const auto last = text.find_last_not_of(' ');
  return last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
}

}  // namespace

void screen::feed(std::string_view bytes) {
  for (const char c : bytes) {
    switch (state_) {
      case parse_state::ground:
        if (c == escape_byte) {
          state_ = parse_state::escape;
        } else if (c == '\r') {
          column_ = 0;
        } else if (c == '\n') {
          end_line();
        } else if (c == '\b') {
          if (column_ > 0) --column_;
        } else if (c == '\t' || (static_cast<unsigned char>(c) >= 0x20 && c != delete_byte)) {
          put(c);
        }
        // Other control bytes (bell, shift-in/out, ...) show nothing.
        break;
      case parse_state::escape:
        if (c == '[') {
          csi_params_.clear();
          state_ = parse_state::csi;
        } else if (c == ']') {
          state_ = parse_state::osc;
        } else if (c == '(' || c == ')' || c == '*' || c == '+') {
          state_ = parse_state::charset;
        } else {
          state_ = parse_state::ground;
        }
        break;
      case parse_state::csi:
        if (c >= 0x40 && c <= 0x7e) {
          apply_csi(c);
          state_ = parse_state::ground;
        } else if (c >= 0x20 && c <= 0x3f) {
          csi_params_.push_back(c);
        } else {
          // A control byte aborts the sequence, as on a real terminal.
          state_ = parse_state::ground;
        }
        break;
      case parse_state::osc:
        if (c == bell_byte) state_ = parse_state::ground;
        if (c == escape_byte) state_ = parse_state::osc_escape;
        break;
      case parse_state::osc_escape:
      case parse_state::charset: state_ = parse_state::ground; break;
    }
  }
}

void screen::put(char c) {
  if (column_ < current_.size()) {
    current_[column_] = c;
  } else {
    current_.resize(column_, ' ');
    current_.push_back(c);
  }
  ++column_;
}

void screen::end_line() {
  lines_.push_back(std::move(current_));
  current_.clear();
  column_ = 0;
}

void screen::apply_csi(char final_byte) {
  switch (final_byte) {
    case 'K': {  // erase in line: 0 to the end, 1 to the start, 2 all
      const auto mode = first_parameter(csi_params_, 0);
      if (mode == 0) {
        current_.resize(std::min(column_, current_.size()));
      } else {
        const auto end = mode == 1 ? std::min(column_ + 1, current_.size()) : current_.size();
        std::fill_n(current_.begin(), end, ' ');
      }
      break;
    }
    case 'D': column_ -= std::min(column_, first_parameter(csi_params_, 1)); break;
    case 'C': column_ += first_parameter(csi_params_, 1); break;
    case 'G': column_ = std::max<std::size_t>(first_parameter(csi_params_, 1), 1) - 1; break;
    case 'P':  // delete characters, the rest of the line moves left
      if (column_ < current_.size())
        current_.erase(column_,
                       std::min(first_parameter(csi_params_, 1), current_.size() - column_));
      break;
    case '@':  // insert blanks
      if (column_ < current_.size()) current_.insert(column_, first_parameter(csi_params_, 1), ' ');
      break;
    case 'X': {  // erase characters in place
      const auto count = std::min(first_parameter(csi_params_, 1),
                                  current_.size() - std::min(column_, current_.size()));
      current_.replace(std::min(column_, current_.size()), count, count, ' ');
      break;
    }
    default: break;  // colours, modes, vertical moves: nothing a line shows
  }
}

const std::string& screen::line_at(std::size_t index) const {
  return index < lines_.size() ? lines_[index] : current_;
}

std::size_t screen::unread_from(std::size_t index) const {
  if (index != mark_line_) return 0;
  const auto& line = line_at(index);
  // A prompt line that was cleared and redrawn with something else since it was marked is unread.
  return line.starts_with(mark_prefix_) ? mark_column_ : 0;
}

void screen::mark(std::size_t index, std::size_t column) {
  mark_line_ = index;
  mark_column_ = column;
  mark_prefix_ = line_at(index).substr(0, column);
}

bool screen::consume(std::string_view text) {
  // The unread text, with where each line's unread part starts in it.
  std::string haystack;
  std::vector<std::size_t> starts;
  for (auto index = mark_line_; index <= lines_.size(); ++index) {
    starts.push_back(haystack.size());
    haystack += std::string_view(line_at(index)).substr(unread_from(index));
    if (index < lines_.size()) haystack.push_back('\n');
  }
  const auto found = haystack.find(text);
  if (found == std::string::npos) return false;
  const auto end = found + text.size();
  // The last line the match touches: the mark goes just after the match in that line.
  const auto segment =
      static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), end - (end > 0)) -
                               starts.begin()) -
      1;
  const auto index = mark_line_ + segment;
  const auto column = unread_from(index) + (end - starts[segment]);
  if (column > line_at(index).size()) {
    mark(index + 1, 0);  // the match ended with this line's newline
  } else {
    mark(index, column);
  }
  return true;
}

bool screen::consume_line(std::string_view line) {
  for (auto index = mark_line_; index < lines_.size(); ++index) {
    const auto unread = std::string_view(lines_[index]).substr(unread_from(index));
    if (without_trailing_spaces(unread) == without_trailing_spaces(line)) {
      mark(index + 1, 0);
      return true;
    }
  }
  return false;
}

std::string screen::unread() const {
  std::string out;
  for (auto index = mark_line_; index <= lines_.size(); ++index) {
    out += std::string_view(line_at(index)).substr(unread_from(index));
    if (index < lines_.size()) out.push_back('\n');
  }
  return out;
}

std::string screen::text() const {
  std::string out;
  for (const auto& line : lines_) out += line + '\n';
  return out + current_;
}

}  // namespace parley::e2e

#include "registry/startup/credentials.hpp"

#include "shared/proto/messages.hpp"
#include "shared/proto/text.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace parley::registry {
namespace {

// Editors on Windows like to start a UTF-8 file with a byte order mark; it is not part of the
// first user name.
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// Why a field is not acceptable, in words that never quote the field itself: a password must
// not end up in a log, and a name is quoted by the caller only once it is known to be valid.
std::string field_problem(std::string_view field, const char* what, std::size_t max_bytes) {
  if (field.size() > max_bytes) {
    return std::string(what) + " is longer than " + std::to_string(max_bytes) + " characters";
  }
  return std::string(what) +
         " contains a character that is not visible ASCII (a control character, a tab or a "
         "non-ASCII byte)";
}

// The reason a non-blank line is not `username password`, or nullopt when it is.
std::optional<std::string> line_problem(std::string_view line, std::string_view& name,
                                        std::string_view& password) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) {
    if (line.find('\t') != std::string_view::npos) {
      return "username and password must be separated by one space, not a tab";
    }
    return "expected `username password` separated by one space, found no space";
  }
  name = line.substr(0, space);
  password = line.substr(space + 1);
  if (name.empty()) return "the line starts with a space: expected `username password`";
  if (password.empty()) return "missing password after the username";
  if (password.find(' ') != std::string_view::npos) {
    return "expected exactly one space, between the username and the password";
  }
  if (!proto::is_valid_name(name)) return field_problem(name, "username", proto::max_name_bytes);
  if (!proto::is_valid_new_password(password)) {
    return field_problem(password, "password", proto::max_password_bytes);
  }
  return std::nullopt;
}

}  // namespace

credentials_file parse_credentials(std::string_view text) {
  credentials_file result;
  if (text.starts_with(utf8_bom)) text.remove_prefix(utf8_bom.size());

  // Where each accepted name was first defined, to report repeats.
  std::map<std::string, std::size_t, std::less<>> first_line_of;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    // CRLF files: the '\r' belongs to the line ending, not to the password.
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (is_blank(line)) continue;

    std::string_view name;
    std::string_view password;
    if (auto problem = line_problem(line, name, password)) {
      result.problems.push_back({line_number, std::move(*problem)});
      continue;
    }
    const auto [first, inserted] = first_line_of.try_emplace(std::string(name), line_number);
    if (!inserted) {
      result.problems.push_back({line_number, "duplicate user \"" + std::string(name) +
                                                  "\", first defined on line " +
                                                  std::to_string(first->second)});
      continue;
    }
    result.entries.push_back({std::string(name), std::string(password)});
  }
  return result;
}

}  // namespace parley::registry

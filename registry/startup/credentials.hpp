// Parsing of credentials.txt: one `username password` per line, one space, both visible ASCII.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::registry {

struct credential {
  std::string name;
  std::string password;
};

struct credentials_problem {
  std::size_t line = 0;  // 1-based
  std::string reason;    // e.g. "expected `username password` separated by one space"
};

struct credentials_file {
  std::vector<credential> entries;  // valid lines, in file order; a repeated name keeps the first
  std::vector<credentials_problem> problems;
};

// Never throws. Blank lines are ignored; a trailing '\r' (CRLF files) is accepted.
credentials_file parse_credentials(std::string_view text);

}  // namespace parley::registry

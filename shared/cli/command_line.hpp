// The command-line conventions both executables share (SPEC 1): CLI11 parses, and every bad
// argument is reported our way, as one line naming it followed by the usage, exit code 2.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::cli {

inline constexpr int exit_bad_arguments = 2;

class command_line {
 public:
  // `program` prefixes error lines; `usage_line` is printed after them and heads --help.
  command_line(std::string program, std::string usage_line, const std::string& description,
               const std::string& version);

  // Add options here. Values that need checking are best taken as text and checked after
  // parse(), so each error names its argument our way.
  CLI::App& app() { return app_; }

  // Nothing (parsed: go on), or the exit code when there is nothing to run: --help or
  // --version was printed (0), or a bad or unknown argument was reported (2).
  std::optional<int> parse(int argc, char** argv);

  // Reports `<program>: <message>` and the usage on stderr; returns exit_bad_arguments.
  int fail(const std::string& message) const;

 private:
  std::string program_;
  std::string usage_line_;
  CLI::App app_;
};

// A whole decimal number in [low, high]: no sign, no spaces, nothing after it.
std::optional<std::uint64_t> parse_whole(std::string_view text, std::uint64_t low,
                                         std::uint64_t high);

}  // namespace parley::cli

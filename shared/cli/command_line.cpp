#include "shared/cli/command_line.hpp"

#include <charconv>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

namespace parley::cli {
namespace {

// CLI11's own usage line lists [OPTIONS] first; ours is the one SPEC 1 gives.
class usage_formatter : public CLI::Formatter {
 public:
  explicit usage_formatter(std::string usage_line) : usage_line_(std::move(usage_line)) {}
  std::string make_usage(const CLI::App*, std::string) const override { return usage_line_ + "\n"; }

 private:
  std::string usage_line_;
};

std::string join_quoted(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "'" : ", '") + item + "'";
  return out;
}

}  // namespace

command_line::command_line(std::string program, std::string usage_line,
                           const std::string& description, const std::string& version)
    : program_(std::move(program)),
      usage_line_(std::move(usage_line)),
      app_(description, program_) {
  app_.formatter(std::make_shared<usage_formatter>(usage_line_));
  // Unknown options and extra arguments are reported by us, in one line, with the usage.
  app_.allow_extras();
  // As in most tools, an option given twice keeps its last value.
  app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app_.set_version_flag("--version", program_ + " " + version);
}

std::optional<int> command_line::parse(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app_.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app_.exit(e);
  } catch (const CLI::ArgumentMismatch& e) {
    // With TakeLast the only mismatch left: an option at the end of the line without its value.
    const std::string what = e.what();
    return fail("option " + what.substr(0, what.find(':')) + " needs a value");
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  }

  std::vector<std::string> unknown_options, extra_arguments;
  for (const auto& extra : app_.remaining())
    (extra.starts_with('-') ? unknown_options : extra_arguments).push_back(extra);
  if (!unknown_options.empty()) {
    return fail(std::string(unknown_options.size() == 1 ? "unknown option " : "unknown options ") +
                join_quoted(unknown_options));
  }
  if (!extra_arguments.empty()) {
    return fail(std::string(extra_arguments.size() == 1 ? "unexpected argument "
                                                        : "unexpected arguments ") +
                join_quoted(extra_arguments));
  }
  return std::nullopt;
}

int command_line::fail(const std::string& message) const {
  std::cerr << program_ << ": " << message << '\n' << usage_line_ << '\n';
  return exit_bad_arguments;
}

std::optional<std::uint64_t> parse_whole(std::string_view text, std::uint64_t low,
                                         std::uint64_t high) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end || value < low || value > high)
    return std::nullopt;
  return value;
}

}  // namespace parley::cli

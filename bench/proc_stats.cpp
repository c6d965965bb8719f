#include "bench/proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace parley::bench {

namespace {

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<std::uint64_t> to_number(std::string_view digits) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end == digits.data()) return std::nullopt;
  return value;
}

std::chrono::nanoseconds to_ns(const timeval& tv) {
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

}  // namespace

std::optional<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat) {
  // Field 2, the command, is in parentheses and may itself hold spaces and ')': the fields after
  // it are counted from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // After the command: state is field 3, utime field 14, stime field 15.
  constexpr int utime_field = 14;
  constexpr int stime_field = 15;
  constexpr int first_field_after_command = 3;
  std::uint64_t ticks = 0;
  int field = first_field_after_command - 1;
  while (!rest.empty() && field < stime_field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const auto end = rest.find(' ');
    const auto word = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    ++field;
    if (field == utime_field || field == stime_field) {
      const auto value = to_number(word);
      if (!value) return std::nullopt;
      ticks += *value;
    }
  }
  if (field < stime_field) return std::nullopt;
  return ticks;
}

std::optional<std::uint64_t> parse_status_rss_kib(std::string_view status) {
  constexpr std::string_view key = "VmRSS:";
  const auto at = status.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  auto rest = status.substr(at + key.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  return to_number(rest.substr(0, rest.find(' ')));
}

std::optional<std::uint64_t> read_rss_kib(int pid) {
  const auto status = slurp("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  return parse_status_rss_kib(*status);
}

std::optional<std::chrono::nanoseconds> read_cpu_time(int pid) {
  const auto stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  const auto ticks = parse_stat_cpu_ticks(*stat);
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (!ticks || ticks_per_second <= 0) return std::nullopt;
  return std::chrono::nanoseconds(*ticks * (1'000'000'000 / ticks_per_second));
}

std::chrono::nanoseconds own_cpu_time() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return to_ns(usage.ru_utime) + to_ns(usage.ru_stime);
}

void cpu_meter::start() {
  wall_start_ = std::chrono::steady_clock::now();
  own_start_ = own_cpu_time();
  if (pid_) server_start_ = read_cpu_time(*pid_);
}

void cpu_meter::stop() {
  wall_end_ = std::chrono::steady_clock::now();
  own_end_ = own_cpu_time();
  if (pid_) server_end_ = read_cpu_time(*pid_);
}

double cpu_meter::percent(std::chrono::nanoseconds used) const {
  const auto wall = wall_end_ - wall_start_;
  if (wall.count() <= 0) return 0;
  constexpr double percent_scale = 100.0;
  return percent_scale * static_cast<double>(used.count()) /
         static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count());
}

std::optional<double> cpu_meter::server_percent() const {
  if (!server_start_ || !server_end_) return std::nullopt;
  return percent(*server_end_ - *server_start_);
}

double cpu_meter::own_percent() const { return percent(own_end_ - own_start_); }

}  // namespace parley::bench

// What /proc and getrusage say about the server and about the generator itself: memory (VmRSS)
// and CPU time, sampled at the start and end of the measured interval.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace parley::bench {

// VmRSS of a process in KiB, from /proc/PID/status; nothing if it cannot be read.
std::optional<std::uint64_t> read_rss_kib(int pid);

// utime + stime of a process, from /proc/PID/stat; nothing if it cannot be read.
std::optional<std::chrono::nanoseconds> read_cpu_time(int pid);

// This process's user + system CPU time (getrusage).
std::chrono::nanoseconds own_cpu_time();

// Parses the text of /proc/PID/stat (exposed for the tests: the command name may hold spaces and
// parentheses). Returns utime + stime in clock ticks.
std::optional<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat);
// Parses the text of /proc/PID/status: the VmRSS line, in KiB.
std::optional<std::uint64_t> parse_status_rss_kib(std::string_view status);

// CPU use over an interval, in percent of one core.
class cpu_meter {
 public:
  // pid: the server's; nothing measures only the generator.
  explicit cpu_meter(std::optional<int> pid) : pid_(pid) {}
  void start();
  void stop();
  std::optional<double> server_percent() const;
  double own_percent() const;

 private:
  double percent(std::chrono::nanoseconds used) const;

  std::optional<int> pid_;
  std::chrono::steady_clock::time_point wall_start_, wall_end_;
  std::optional<std::chrono::nanoseconds> server_start_, server_end_;
  std::chrono::nanoseconds own_start_{}, own_end_{};
};

}  // namespace parley::bench

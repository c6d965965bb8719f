// A program under test, started on a pseudo-terminal (an interactive peer) or on pipes (a scripted
// peer, the registry), and driven expect-style: every wait polls the child's output until a
// condition holds or a timeout passes; none sleeps for a fixed time. Failures are reported to
// doctest at the caller's line, with the tail of the output.
#pragma once

#include "tests/e2e/screen.hpp"

#include <sys/types.h>
#include <termios.h>

#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::e2e {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// How long a wait lasts unless the test says otherwise: generous for a loaded 2-core machine,
// and only ever reached when the test is failing.
inline constexpr milliseconds default_timeout = 5000ms;

// Waits for nothing but time: only to pace retries, never to let something happen.
void pause(milliseconds duration);

// Where a harness function was called from, so that a failure points at the test's line.
// (std::source_location would do, but clang 14 cannot compile libstdc++'s.)
struct call_site {
  const char* file = "";
  int line = 0;
  // Used as a default argument, gives the caller's file and line, like source_location.
  static constexpr call_site here(const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
    return {file, line};
  }
};

// Reports a failure of the running test at `where`, and does not return.
[[noreturn]] void fail_at(call_site where, const std::string& what);

enum class io_mode {
  terminal,  // stdin, stdout and stderr on a pseudo-terminal, as a user would run it
  pipes,     // stdin, stdout and stderr on pipes, as a script would run it
  // stdin on a pseudo-terminal, stdout and stderr on pipes: `peer 3331 | tee chat.log`. What
  // the terminal itself shows (its echo) is terminal_echo().
  terminal_input,
};

struct launch_options {
  std::vector<std::string> argv;  // argv[0] is the executable's path
  io_mode mode = io_mode::pipes;
  // Set in the child's environment, over what the test inherited.
  std::vector<std::pair<std::string, std::string>> environment;
  // Pipes only: append stderr to this file instead of capturing it, for long-running chatty
  // children (the registry's debug log) that would otherwise fill a pipe nobody drains.
  std::filesystem::path stderr_file;
  // Terminal mode: run the program as a job of a small shell on that terminal (its own process
  // group in the foreground), so that Ctrl-Z stops it as in an interactive shell; the shell
  // prints `[job stopped]` and resume_job() is its `fg`.
  bool job_control = false;
};

// An owned file descriptor.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

class child_process {
 public:
  // The terminal's size in terminal mode: wide enough that no test line wraps.
  static constexpr unsigned short terminal_columns = 120;
  static constexpr unsigned short terminal_rows = 40;

  explicit child_process(const launch_options& options);
  // Kills (SIGKILL) and reaps the child if it still runs.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  // Input. A line ends the way the Enter key ends it: '\r' on a terminal, '\n' on a pipe.
  void send_raw(std::string_view bytes, call_site where = call_site::here());
  void send_line(std::string_view line, call_site where = call_site::here());
  // End of input: Ctrl-D on a terminal, closing the pipe otherwise.
  void close_input();

  // Waits until `text` appears in the output after the read mark, and moves the mark past it.
  void expect(std::string_view text, milliseconds timeout = default_timeout,
              call_site where = call_site::here());
  // Waits until a whole line equal to `line` appears after the read mark, and moves the mark to
  // the line after it.
  void expect_line(std::string_view line, milliseconds timeout = default_timeout,
                   call_site where = call_site::here());
  // As expect, without failing: whether the text appeared in time.
  bool wait_for(std::string_view text, milliseconds timeout = default_timeout);
  // Waits until one of `texts` appears after the read mark; returns the index of the first, in
  // the order given, that did (and moves the mark past it), or nothing on timeout.
  std::optional<std::size_t> wait_for_any(std::initializer_list<std::string_view> texts,
                                          milliseconds timeout = default_timeout);
  // Reads whatever output is ready, waiting at most `timeout` for some to arrive.
  void read_output(milliseconds timeout = 0ms);

  // Every byte read from stdout (the terminal, in terminal mode), escape sequences included.
  const std::string& raw_output() const { return raw_output_; }
  // Pipes mode without a stderr file: every byte read from stderr.
  const std::string& error_output() const { return error_output_; }
  // The output as a terminal shows it, with its read mark.
  const screen& output() const { return screen_; }

  // Waits for the child to exit, reading its output meanwhile; returns its exit code, or
  // 128 + the signal number if a signal ended it (as a shell reports it).
  int wait_exit(milliseconds timeout = default_timeout, call_site where = call_site::here());
  // The exit status if the child has exited, without waiting.
  std::optional<int> poll_exit();
  bool running() { return !poll_exit().has_value(); }

  // Sends a signal to this child (by its PID).
  void signal(int signal_number);
  // job_control: brings the stopped job back to the foreground and continues it.
  void resume_job();
  // Terminal modes: the modes the program has set on its terminal now.
  termios terminal_modes() const;
  // terminal_input: every byte the terminal showed (its echo of what was typed).
  const std::string& terminal_echo() const { return echo_output_; }

  // The last lines of the output and of stderr, for failure messages.
  std::string describe_output() const;

 private:
  // Reads ready output from every open descriptor; false once all of them are at end of file.
  bool drain();
  [[noreturn]] void fail(const std::string& what, call_site where) const;

  io_mode mode_;
  std::string program_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  unique_fd input_;   // terminal master, or the write end of the stdin pipe
  unique_fd output_;  // terminal master (a second descriptor), or the read end of stdout
  unique_fd errors_;  // read end of stderr (pipes mode without a stderr file)
  unique_fd echo_;    // terminal_input: the terminal master, read for its echo
  std::string raw_output_;
  std::string error_output_;
  std::string echo_output_;
  screen screen_;
};

}  // namespace parley::e2e

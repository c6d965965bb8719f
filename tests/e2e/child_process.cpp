#include "tests/e2e/child_process.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace parley::e2e {

namespace {

using steady = std::chrono::steady_clock;

// How much of the output a failure message shows.
constexpr std::size_t failure_tail_bytes = 1500;
// How often a wait looks at the child again when there is no output to wait on.
constexpr milliseconds poll_interval = 10ms;
// How long, after the child has exited, its remaining output is read.
constexpr milliseconds exit_drain_bound = 1000ms;
constexpr char end_of_transmission = '\x04';  // Ctrl-D

void set_flags(int fd, int fd_flags, int status_flags) {
  if (fd_flags != 0) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | fd_flags);
  if (status_flags != 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | status_flags);
}

// The child's environment: the test's own with `overrides` set, built before fork() so the
// child only calls async-signal-safe functions.
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> result;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view variable(*entry);
    const auto name = variable.substr(0, variable.find('='));
    const bool overridden = std::any_of(overrides.begin(), overrides.end(),
                                        [&](const auto& pair) { return pair.first == name; });
    if (!overridden) result.emplace_back(variable);
  }
  for (const auto& [name, value] : overrides) result.push_back(name + "=" + value);
  return result;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

// In the child, after fork(): a clean signal state, then the program. Only async-signal-safe
// calls from here on.
// forkpty() on a terminal of the tests' size; the master end in `master`.
pid_t fork_on_terminal(int& master) {
  winsize size{};
  size.ws_row = child_process::terminal_rows;
  size.ws_col = child_process::terminal_columns;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) throw std::runtime_error("forkpty failed: " + std::string(strerror(errno)));
  return pid;
}

[[noreturn]] void exec_child(char** argv, char** envp) {
  // The test ignores SIGPIPE; an ignored signal would stay ignored across exec.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(argv[0], argv, envp);
  constexpr std::string_view message = "e2e: exec failed\n";
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, message.data(), message.size());
  ::_exit(127);
}

// In the child, after forkpty(): a shell in miniature. The program runs as a job of its own
// process group in the terminal's foreground; when it stops (Ctrl-Z) the shell takes the
// terminal back, says so, and waits for SIGUSR1 (resume_job) to give it back and continue the
// job, as `fg` does. Exits as the job did. Only async-signal-safe calls.
[[noreturn]] void run_job_shell(char** argv, char** envp) {
  // A shell in the background of its own terminal must still set the foreground group.
  ::signal(SIGTTOU, SIG_IGN);
  sigset_t resume;
  sigemptyset(&resume);
  sigaddset(&resume, SIGUSR1);
  ::sigprocmask(SIG_BLOCK, &resume, nullptr);
  const pid_t job = ::fork();
  if (job < 0) ::_exit(127);
  if (job == 0) {
    ::setpgid(0, 0);
    ::tcsetpgrp(STDIN_FILENO, ::getpid());
    ::signal(SIGTTOU, SIG_DFL);
    exec_child(argv, envp);
  }
  ::setpgid(job, job);
  ::tcsetpgrp(STDIN_FILENO, job);
  for (;;) {
    int status = 0;
    if (::waitpid(job, &status, WUNTRACED) < 0) {
      if (errno == EINTR) continue;
      ::_exit(127);
    }
    if (WIFSTOPPED(status)) {
      ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
      constexpr std::string_view said = "\r\n[job stopped]\r\n";
      [[maybe_unused]] auto ignored = ::write(STDOUT_FILENO, said.data(), said.size());
      int received = 0;
      ::sigwait(&resume, &received);
      ::tcsetpgrp(STDIN_FILENO, job);
      ::kill(-job, SIGCONT);
      continue;
    }
    if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) ::_exit(128 + WTERMSIG(status));
  }
}

std::string tail(std::string_view text) {
  if (text.size() <= failure_tail_bytes) return std::string(text);
  return "..." + std::string(text.substr(text.size() - failure_tail_bytes));
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other) reset(std::exchange(other.fd_, -1));
  return *this;
}

void unique_fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

child_process::child_process(const launch_options& options)
    : mode_(options.mode), program_(options.argv.at(0)) {
  // A write to a child that has just exited must fail with EPIPE, not kill the test.
  ::signal(SIGPIPE, SIG_IGN);

  auto arguments = options.argv;
  auto argv = pointers_to(arguments);
  auto environment = child_environment(options.environment);
  auto envp = pointers_to(environment);

  if (mode_ == io_mode::terminal) {
    int master = -1;
    pid_ = fork_on_terminal(master);
    if (pid_ == 0) {
      if (options.job_control) run_job_shell(argv.data(), envp.data());
      exec_child(argv.data(), envp.data());
    }
    // Close-on-exec, so that children started later do not hold this terminal open.
    set_flags(master, FD_CLOEXEC, O_NONBLOCK);
    output_.reset(master);
    input_.reset(::fcntl(master, F_DUPFD_CLOEXEC, 0));
    return;
  }

  int stdin_pipe[2], stdout_pipe[2], stderr_pipe[2] = {-1, -1};
  if (::pipe2(stdin_pipe, O_CLOEXEC) != 0 || ::pipe2(stdout_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed: " + std::string(strerror(errno)));
  unique_fd stderr_target;
  if (options.stderr_file.empty()) {
    if (::pipe2(stderr_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed: " + std::string(strerror(errno)));
    stderr_target.reset(stderr_pipe[1]);
  } else {
    stderr_target.reset(
        ::open(options.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!stderr_target) throw std::runtime_error("cannot open " + options.stderr_file.string());
  }

  if (mode_ == io_mode::terminal_input) {
    int master = -1;
    pid_ = fork_on_terminal(master);
    if (pid_ == 0) {
      ::dup2(stdout_pipe[1], STDOUT_FILENO);
      ::dup2(stderr_target.get(), STDERR_FILENO);
      exec_child(argv.data(), envp.data());
    }
    ::close(stdin_pipe[0]);
    ::close(stdin_pipe[1]);
    ::close(stdout_pipe[1]);
    set_flags(master, FD_CLOEXEC, O_NONBLOCK);
    echo_.reset(master);
    input_.reset(::fcntl(master, F_DUPFD_CLOEXEC, 0));
  } else {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed: " + std::string(strerror(errno)));
    if (pid_ == 0) {
      ::dup2(stdin_pipe[0], STDIN_FILENO);
      ::dup2(stdout_pipe[1], STDOUT_FILENO);
      ::dup2(stderr_target.get(), STDERR_FILENO);
      exec_child(argv.data(), envp.data());
    }
    ::close(stdin_pipe[0]);
    ::close(stdout_pipe[1]);
    input_.reset(stdin_pipe[1]);
  }
  output_.reset(stdout_pipe[0]);
  set_flags(input_.get(), 0, O_NONBLOCK);
  set_flags(output_.get(), 0, O_NONBLOCK);
  if (stderr_pipe[0] >= 0) {
    errors_.reset(stderr_pipe[0]);
    set_flags(errors_.get(), 0, O_NONBLOCK);
  }
}

child_process::~child_process() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void child_process::send_raw(std::string_view bytes, call_site where) {
  const auto deadline = steady::now() + default_timeout;
  while (!bytes.empty()) {
    const auto written = ::write(input_.get(), bytes.data(), bytes.size());
    if (written > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(written));
      continue;
    }
    if (written < 0 && errno == EINTR) continue;
    const bool full = written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (full && steady::now() >= deadline)
      fail("the child did not read its input within " + std::to_string(default_timeout.count()) +
               " ms",
           where);
    if (full) {
      // The child is not reading yet: keep reading its output meanwhile, or a child blocked on
      // a full output pipe would never read its input.
      pollfd fds[4] = {{input_.get(), POLLOUT, 0}};
      nfds_t count = 1;
      for (const auto* fd : {&output_, &errors_, &echo_})
        if (*fd) fds[count++] = pollfd{fd->get(), POLLIN, 0};
      ::poll(fds, count, static_cast<int>(poll_interval.count()));
      drain();
      continue;
    }
    fail("cannot write to the child's input: " + std::string(strerror(errno)), where);
  }
}

void child_process::send_line(std::string_view line, call_site where) {
  send_raw(std::string(line) + (mode_ == io_mode::pipes ? '\n' : '\r'), where);
}

void child_process::close_input() {
  if (mode_ != io_mode::pipes) {
    send_raw(std::string_view(&end_of_transmission, 1));
  } else {
    input_.reset();
  }
}

bool child_process::drain() {
  char buffer[4096];
  for (auto* fd : {&output_, &errors_, &echo_}) {
    while (*fd) {
      const auto got = ::read(fd->get(), buffer, sizeof buffer);
      if (got > 0) {
        const std::string_view bytes(buffer, static_cast<std::size_t>(got));
        if (fd == &output_) {
          raw_output_ += bytes;
          screen_.feed(bytes);
        } else if (fd == &echo_) {
          echo_output_ += bytes;
        } else {
          error_output_ += bytes;
        }
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // End of file, or EIO: a terminal's master reads EIO once the child has closed its side.
      fd->reset();
    }
  }
  return output_ || errors_;
}

void child_process::read_output(milliseconds timeout) {
  pollfd fds[3];
  nfds_t count = 0;
  for (const auto* fd : {&output_, &errors_, &echo_})
    if (*fd) fds[count++] = pollfd{fd->get(), POLLIN, 0};
  if (count == 0) return;
  const int ready = ::poll(fds, count, static_cast<int>(timeout.count()));
  if (ready > 0) drain();
}

bool child_process::wait_for(std::string_view text, milliseconds timeout) {
  return wait_for_any({text}, timeout).has_value();
}

std::optional<std::size_t> child_process::wait_for_any(
    std::initializer_list<std::string_view> texts, milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  while (true) {
    drain();
    std::size_t index = 0;
    for (const auto text : texts) {
      if (screen_.consume(text)) return index;
      ++index;
    }
    const auto now = steady::now();
    // Nothing more can come once the output is closed.
    if (now >= deadline || !output_) return std::nullopt;
    read_output(std::chrono::ceil<milliseconds>(deadline - now));
  }
}

void child_process::expect(std::string_view text, milliseconds timeout, call_site where) {
  if (!wait_for(text, timeout))
    fail("expected output \"" + std::string(text) + "\" within " + std::to_string(timeout.count()) +
             " ms",
         where);
}

void child_process::expect_line(std::string_view line, milliseconds timeout, call_site where) {
  const auto deadline = steady::now() + timeout;
  while (true) {
    drain();
    if (screen_.consume_line(line)) return;
    const auto now = steady::now();
    if (now >= deadline || !output_)
      fail("expected the line \"" + std::string(line) + "\" within " +
               std::to_string(timeout.count()) + " ms",
           where);
    read_output(std::chrono::ceil<milliseconds>(deadline - now));
  }
}

std::optional<int> child_process::poll_exit() {
  if (exit_status_ || pid_ <= 0) return exit_status_;
  int status = 0;
  const auto reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_) {
    exit_status_ = decode_status(status);
    // What the child wrote before it exited is still readable; a grandchild holding the pipe
    // open must not hang the test, hence the bound.
    const auto until = steady::now() + exit_drain_bound;
    while (drain() && steady::now() < until) read_output(poll_interval);
  }
  return exit_status_;
}

int child_process::wait_exit(milliseconds timeout, call_site where) {
  const auto deadline = steady::now() + timeout;
  while (true) {
    if (const auto status = poll_exit()) return *status;
    if (steady::now() >= deadline)
      fail("expected the process to exit within " + std::to_string(timeout.count()) + " ms", where);
    // Keep reading: a child blocked on a full pipe would never exit.
    if (output_ || errors_) {
      read_output(poll_interval);
    } else {
      pause(poll_interval);
    }
  }
}

void child_process::signal(int signal_number) {
  if (pid_ > 0 && !exit_status_) ::kill(pid_, signal_number);
}

void child_process::resume_job() { signal(SIGUSR1); }

termios child_process::terminal_modes() const {
  termios modes{};
  // A master reads its terminal's modes on Linux.
  ::tcgetattr(mode_ == io_mode::terminal_input ? echo_.get() : input_.get(), &modes);
  return modes;
}

std::string child_process::describe_output() const {
  std::string out = program_ + " (pid " + std::to_string(pid_) + ")";
  if (exit_status_) out += ", exited with " + std::to_string(*exit_status_);
  out += "\n--- unread output, as shown ---\n" + tail(screen_.unread());
  out += "\n--- all output, as shown ---\n" + tail(screen_.text());
  if (!error_output_.empty()) out += "\n--- stderr ---\n" + tail(error_output_);
  return out;
}

void child_process::fail(const std::string& what, call_site where) const {
  fail_at(where, what + "\n" + describe_output());
}

void pause(milliseconds duration) { ::poll(nullptr, 0, static_cast<int>(duration.count())); }

void fail_at(call_site where, const std::string& what) {
  ADD_FAIL_AT(where.file, where.line, what);
  // ADD_FAIL_AT throws inside a test; outside one, do not carry on either.
  throw std::runtime_error(what);
}

}  // namespace parley::e2e

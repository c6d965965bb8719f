#include "peer/tui/terminal.hpp"

#include "shared/util/xdg.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// readline's headers expect <cstdio> first.
#include <readline/history.h>
#include <readline/readline.h>

namespace parley::peer {
namespace {

// Bytes asked of one read() of script input.
constexpr std::size_t read_chunk_bytes = 4096;

// readline is a C library with global state and C callbacks: they reach the one live terminal
// through this pointer.
terminal* active_terminal = nullptr;
// The history while a prompt that keeps none shows (show_history(false)); readline's own list is
// empty meanwhile, so Up and Ctrl-R find nothing.
HISTORY_STATE* kept_history = nullptr;

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

// Files epoll refuses (regular files, /dev/null and other character devices that are not
// terminals) never block a read, so they are read directly.
bool needs_blocking_reads(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return false;
  return S_ISREG(info.st_mode) || S_ISBLK(info.st_mode) ||
         (S_ISCHR(info.st_mode) && !is_terminal(fd));
}

// $XDG_STATE_HOME/parley/history, else ~/.local/state/parley/history; empty if neither is known.
std::string history_file() {
  namespace fs = std::filesystem;
  const auto state = xdg_directory("XDG_STATE_HOME", fs::path(".local") / "state");
  if (state.empty()) return {};
  const auto folder = state / "parley";
  std::error_code ignored;
  fs::create_directories(state, ignored);
  // The history holds what the user typed, messages included: the folder is theirs alone.
  ::mkdir(folder.c_str(), 0700);
  return (folder / "history").string();
}

// A dup of stdin for the reactor, close-on-exec.
int duplicate_stdin() { return ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0); }

}  // namespace

terminal::terminal(asio::any_io_executor executor, std::size_t max_line_bytes, bool plain)
    : executor_(executor),
      max_line_bytes_(max_line_bytes),
      interactive_(!plain && is_terminal(STDIN_FILENO) && is_terminal(STDOUT_FILENO)),
      stdin_terminal_(is_terminal(STDIN_FILENO)),
      input_(executor),
      resize_signal_(executor),
      job_signals_(executor),
      wake_(executor) {
  wake_.expires_at(asio::steady_timer::time_point::max());
}

terminal::~terminal() { stop(); }

void terminal::start(handlers callbacks) {
  if (started_ || stopped_) return;
  started_ = true;
  handlers_ = std::move(callbacks);
  blocking_reads_ = !interactive_ && needs_blocking_reads(STDIN_FILENO);
  if (!blocking_reads_) {
    const int fd = duplicate_stdin();
    std::error_code ec;
    if (fd >= 0) input_.assign(fd, ec);
    // Without a watchable descriptor, input is read directly, as plain lines.
    if (fd < 0 || ec) {
      if (fd >= 0) ::close(fd);
      interactive_ = false;
      blocking_reads_ = true;
    }
  }
  if (interactive_) {
    install_readline();
    asio::co_spawn(executor_, read_terminal(), asio::detached);
    asio::co_spawn(executor_, watch_resize(), asio::detached);
    asio::co_spawn(executor_, watch_job_control(), asio::detached);
  } else {
    asio::co_spawn(executor_, read_script(), asio::detached);
  }
}

void terminal::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (readline_installed_) {
    // Leave a clean line behind: no prompt, no half-typed text.
    rl_clear_visible_line();
    std::fflush(stdout);
    rl_callback_handler_remove();
    readline_installed_ = false;
    show_history(true);
    save_history();
    active_terminal = nullptr;
  }
  // A script's output ends with a whole line, even when it ends at a prompt.
  set_echo(true);
  if (mid_line_) write_out("\n");
  std::error_code ignored;
  resize_signal_.cancel(ignored);
  job_signals_.cancel(ignored);
  input_.close(ignored);
  wake_.cancel();
}

// ---------------------------------------------------------------- output

void terminal::write_out(std::string_view text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  mid_line_ = text.back() != '\n';
}

void terminal::print(std::string_view line) {
  if (!readline_installed_) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    write_out("\n");
    return;
  }
  // Lift the prompt and the typed text off the screen, print, then redraw them below, with the
  // cursor where it was in the line.
  rl_clear_visible_line();
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  rl_forced_update_display();
  std::fflush(stdout);
}

void terminal::bell() {
  if (!interactive_ || stopped_) return;
  std::fputc('\a', stdout);
  std::fflush(stdout);
}

void terminal::report(std::string_view line) {
  if (interactive_) return print(line);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

void terminal::set_prompt(const prompt& next) {
  if (!interactive_) {
    // Only a password prompt turns the echo off: the hidden wait for the registry's answer that
    // follows it does not, so what is typed meanwhile shows (the password is already read).
    if (!stopped_)
      set_echo(next.kind != prompt_kind::password && next.kind != prompt_kind::new_password);
    if (!stopped_ && !next.text.empty()) write_out(next.text);
    prompt_ = next;
    return;
  }
  if (next == prompt_) return;
  const bool was_hidden = prompt_.hidden;
  prompt_ = next;
  if (!readline_installed_) return;
  rl_clear_visible_line();
  // Text typed blind (ahead of a password prompt, say) must not appear once input shows again.
  if (was_hidden && !next.hidden) rl_replace_line("", 1);
  set_line_aside(next.aside);
  show_history(next.history);
  rl_redisplay_function = next.hidden ? &terminal::hidden_redisplay : rl_redisplay;
  rl_set_prompt(prompt_.text.c_str());
  rl_forced_update_display();
  std::fflush(stdout);
}

void terminal::set_input_wanted(bool wanted) {
  input_wanted_ = wanted;
  if (wanted) wake_.cancel();
}

// ---------------------------------------------------------------- terminal input (readline)

void terminal::install_readline() {
  active_terminal = this;
  rl_readline_name = "parley";
  // Signals are the shell's (asio::signal_set); readline must not install handlers of its own.
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_change_environment = 0;
  // Names may hold any visible character: only a space separates words.
  rl_basic_word_break_characters = " ";
  rl_completer_word_break_characters = " ";
  rl_attempted_completion_function = &terminal::on_readline_complete;
  rl_redisplay_function = prompt_.hidden ? &terminal::hidden_redisplay : rl_redisplay;
  load_history();
  show_history(prompt_.history);
  rl_callback_handler_install(prompt_.text.c_str(), &terminal::on_readline_line);
  readline_installed_ = true;
}

asio::awaitable<void> terminal::read_terminal() {
  while (!stopped_) {
    std::error_code ec;
    co_await input_.async_wait(asio::posix::stream_descriptor::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped_) co_return;
    rl_callback_read_char();
    // Any key between two Ctrl-Cs makes the second a first again.
    interrupt_armed_ = false;
    // Lines are handed on only now, outside readline's callback, where printing above the
    // prompt is safe. A handler may stop the terminal: then the rest is dropped.
    auto lines = std::move(typed_lines_);
    typed_lines_.clear();
    for (auto& line : lines) {
      if (stopped_) co_return;
      handlers_.on_line(std::move(line));
    }
    if (typed_eof_) {
      if (!stopped_) handlers_.on_end_of_input();
      co_return;
    }
  }
}

asio::awaitable<void> terminal::watch_resize() {
  resize_signal_.add(SIGWINCH);
  while (!stopped_) {
    std::error_code ec;
    co_await resize_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped_) co_return;
    rl_resize_terminal();
  }
}

asio::awaitable<void> terminal::watch_job_control() {
  std::error_code ec;
  job_signals_.add(SIGTSTP, ec);
  job_signals_.add(SIGCONT, ec);
  while (!stopped_) {
    const int signal_number =
        co_await job_signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped_) co_return;
    if (signal_number == SIGTSTP) {
      suspend();
    } else {
      resume();
    }
  }
}

void terminal::suspend() {
  // Leave the line clean and the terminal as the shell expects it, then stop for real: SIGTSTP
  // with its default action, which this handler had replaced.
  rl_clear_visible_line();
  std::fflush(stdout);
  rl_deprep_term_function();
  std::error_code ignored;
  job_signals_.remove(SIGTSTP, ignored);
  ::raise(SIGTSTP);
  // Continued (`fg`), or never stopped (an orphaned process group is not stopped by SIGTSTP).
  job_signals_.add(SIGTSTP, ignored);
  resume();
}

void terminal::resume() {
  // Continued in the background (`bg`): the terminal is the shell's, and touching its modes from
  // here would stop the peer again (SIGTTOU). `fg` continues it once more, in the foreground.
  if (::tcgetpgrp(STDIN_FILENO) != ::getpgrp()) return;
  // The shell may have set its own modes meanwhile: readline's are made again from them.
  rl_deprep_term_function();
  rl_prep_term_function(1);
  rl_forced_update_display();
  std::fflush(stdout);
}

void terminal::show_history(bool shown) {
  if (shown == (kept_history == nullptr)) return;
  if (!shown) {
    // A copy of the state, pointing at the live entries; readline gets an empty list instead.
    kept_history = history_get_history_state();
    HISTORY_STATE empty{};
    empty.flags = kept_history->flags;
    history_set_history_state(&empty);
    return;
  }
  history_set_history_state(kept_history);
  std::free(kept_history);
  kept_history = nullptr;
  // Up starts again from the newest entry.
  using_history();
}

void terminal::set_line_aside(bool aside) {
  if (aside && !line_aside_) {
    // Leave an incremental search or a completion first, as Ctrl-C would.
    if (RL_ISSTATE(RL_STATE_ISEARCH | RL_STATE_NSEARCH | RL_STATE_COMPLETING))
      rl_callback_sigcleanup();
    line_aside_.emplace(std::string(rl_line_buffer, static_cast<std::size_t>(rl_end)), rl_point);
    rl_replace_line("", 1);
  } else if (!aside && line_aside_) {
    rl_replace_line(line_aside_->first.c_str(), 1);
    rl_point = std::min(line_aside_->second, rl_end);
    line_aside_.reset();
  }
}

void terminal::set_echo(bool on) {
  if (interactive_ || !stdin_terminal_) return;
  if (!on && !echo_modes_) {
    termios modes{};
    if (::tcgetattr(STDIN_FILENO, &modes) != 0) return;
    echo_modes_ = modes;
    // The Enter that ends the password still moves to the next line, as getpass() does.
    modes.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    modes.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &modes);
  } else if (on && echo_modes_) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &*echo_modes_);
    echo_modes_.reset();
  }
}

terminal::interrupt_effect terminal::interrupt() {
  if (!readline_installed_ || stopped_) return interrupt_effect::confirmed;
  const bool had_text = rl_end > 0;
  rl_callback_sigcleanup();
  rl_clear_visible_line();
  rl_replace_line("", 1);
  rl_point = rl_mark = 0;
  if (kept_history == nullptr) using_history();
  rl_forced_update_display();
  std::fflush(stdout);
  if (had_text) {
    interrupt_armed_ = false;
    return interrupt_effect::cleared;
  }
  if (interrupt_armed_) {
    interrupt_armed_ = false;
    return interrupt_effect::confirmed;
  }
  interrupt_armed_ = true;
  return interrupt_effect::warned;
}

void terminal::on_readline_line(char* line) {
  auto* self = active_terminal;
  if (!self) {
    std::free(line);
    return;
  }
  if (!line) {
    self->typed_eof_ = true;
    return;
  }
  const std::string_view text(line);
  // A pasted block (bracketed paste) arrives as one line with its line breaks: each of its lines
  // is a line of its own, as if typed one by one; the empty ones between them are dropped.
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find_first_of("\r\n", start);
    const auto piece = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (!piece.empty() || end == std::string_view::npos) lines.emplace_back(piece);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  std::free(line);
  if (lines.size() > 1 && lines.back().empty()) lines.pop_back();
  for (auto& typed : lines) self->add_typed_line(std::move(typed));
}

void terminal::add_typed_line(std::string text) {
  // Only commands go into the history: never a password, never a user name, never a repeat.
  if (prompt_.history && text.find_first_not_of(' ') != std::string::npos) {
    const HIST_ENTRY* last =
        history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
    if (!last || text != last->line) {
      add_history(text.c_str());
      ++history_added_;
    }
  }
  typed_lines_.push_back(std::move(text));
}

char** terminal::on_readline_complete(const char* word, int start, int) {
  // Never fall back to readline's file-name completion.
  rl_attempted_completion_over = 1;
  auto* self = active_terminal;
  if (!self || self->prompt_.hidden || !self->handlers_.complete) return nullptr;
  self->completions_ = self->handlers_.complete(
      std::string_view(rl_line_buffer, static_cast<std::size_t>(start)), word);
  self->next_completion_ = 0;
  if (self->completions_.empty()) return nullptr;
  return rl_completion_matches(word, &terminal::next_completion);
}

char* terminal::next_completion(const char*, int) {
  auto* self = active_terminal;
  if (!self || self->next_completion_ >= self->completions_.size()) return nullptr;
  // readline frees each match with free().
  return ::strdup(self->completions_[self->next_completion_++].c_str());
}

void terminal::hidden_redisplay() {
  // readline's own redisplay, run over an empty line: the prompt shows, the typed text does not,
  // and readline's idea of the screen stays right for rl_clear_visible_line().
  static char empty_line[1] = {'\0'};
  char* const line = rl_line_buffer;
  const int end = rl_end;
  const int point = rl_point;
  const int mark = rl_mark;
  rl_line_buffer = empty_line;
  rl_end = rl_point = rl_mark = 0;
  rl_redisplay();
  rl_line_buffer = line;
  rl_end = end;
  rl_point = point;
  rl_mark = mark;
}

void terminal::load_history() {
  history_path_ = history_file();
  using_history();
  stifle_history(max_history_entries);
  // A missing or unreadable history is not worth a word to the user.
  if (!history_path_.empty()) read_history(history_path_.c_str());
}

void terminal::save_history() {
  if (history_path_.empty() || history_added_ == 0) return;
  // Append this run's lines, so peers running side by side do not erase each other's history.
  if (::access(history_path_.c_str(), F_OK) == 0) {
    const int added = std::min(history_added_, max_history_entries);
    if (append_history(added, history_path_.c_str()) == 0)
      history_truncate_file(history_path_.c_str(), max_history_entries);
  } else {
    write_history(history_path_.c_str());
  }
}

// ---------------------------------------------------------------- script input

terminal::scan terminal::next_script_line(std::string& line) {
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (discarding_) {
      if (newline == std::string::npos) {
        buffer_.clear();
        return scan::need_more;
      }
      buffer_.erase(0, newline + 1);
      discarding_ = false;
      continue;
    }
    if (newline != std::string::npos && newline <= max_line_bytes_) {
      line.assign(buffer_, 0, newline);
      buffer_.erase(0, newline + 1);
      return scan::line;
    }
    // Too long whether its end is here or not: drop it up to its '\n'.
    if (buffer_.size() > max_line_bytes_) {
      discarding_ = true;
      return scan::too_long;
    }
    return scan::need_more;
  }
}

asio::awaitable<void> terminal::read_script() {
  for (;;) {
    // Wait until the core takes a line: input is never read further ahead than one chunk.
    co_await wait_until_input_wanted();
    if (stopped_) co_return;
    const auto step = hand_on_buffered_script();
    if (step == script_step::finished) co_return;
    if (step == script_step::need_input) co_await read_more_script();
  }
}

asio::awaitable<void> terminal::wait_until_input_wanted() {
  while (!input_wanted_ && !stopped_) {
    std::error_code ec;
    wake_.expires_at(asio::steady_timer::time_point::max());
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

terminal::script_step terminal::hand_on_buffered_script() {
  std::string line;
  const auto found = next_script_line(line);
  switch (found) {
    case scan::line: handlers_.on_line(std::move(line)); return script_step::handed_on;
    case scan::too_long: handlers_.on_line_too_long(); return script_step::handed_on;
    case scan::need_more: break;
  }
  if (!input_ended_) return script_step::need_input;
  // A last line without its '\n' is still a line.
  if (!buffer_.empty() && !discarding_) {
    line = std::move(buffer_);
    buffer_.clear();
    handlers_.on_line(std::move(line));
    return script_step::handed_on;
  }
  handlers_.on_end_of_input();
  return script_step::finished;
}

asio::awaitable<void> terminal::read_more_script() {
  if (!blocking_reads_) {
    std::error_code ec;
    co_await input_.async_wait(asio::posix::stream_descriptor::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec));
    // Stopped meanwhile: read_script sees it and ends.
    if (stopped_) co_return;
    if (ec) {
      input_ended_ = true;
      co_return;
    }
  }
  read_script_chunk();
}

void terminal::read_script_chunk() {
  char chunk[read_chunk_bytes];
  const int fd = blocking_reads_ ? STDIN_FILENO : input_.native_handle();
  const auto got = ::read(fd, chunk, sizeof chunk);
  if (got > 0) {
    buffer_.append(chunk, static_cast<std::size_t>(got));
  } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
    // End of input, or an input that cannot be read any more: both end the script.
    input_ended_ = true;
  }
}

}  // namespace parley::peer

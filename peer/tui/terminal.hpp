// The peer's terminal: the only code that touches GNU readline.
//
// On a terminal, readline's callback interface runs on the io thread: the read loop waits until
// stdin is readable, then hands readline one character. Every line shown while the user types
// goes through print(), which lifts the prompt and the half-typed line, prints, and puts them
// back. Password prompts show nothing of what is typed and never reach the history.
//
// When stdin or stdout is not a terminal (a script, a pipe, a file), readline is not used at
// all: plain lines in (each bounded), plain lines out, no escape codes. Lines are read only when
// the core wants one, so a long script never piles up in memory. If stdin alone is a terminal
// (`peer 3331 | tee chat.log`), its echo is turned off while a password is typed.
//
// On a terminal the history is out of reach at prompts that keep none (the login prompts, a
// chat request's question); a question that comes while a line is half typed sets the line
// aside and gives it back after the answer; Ctrl-Z gives the shell its terminal modes back and
// `fg` restores readline's and the prompt; a pasted block of lines is that many lines.
//
// Everything here runs on the io thread. There is at most one terminal per process (readline
// is a global).
#pragma once

#include "peer/core/effects.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <termios.h>

namespace parley::peer {

// Lines kept in the history file between runs.
inline constexpr int max_history_entries = 1000;

class terminal {
 public:
  struct handlers {
    // One input line, without its '\n'.
    std::function<void(std::string line)> on_line;
    // A script line longer than the bound: it was skipped up to its '\n'.
    std::function<void()> on_line_too_long;
    // Ctrl-D on an empty line, or the end of the script.
    std::function<void()> on_end_of_input;
    // Tab completion: the candidates for `word`, given the line before it.
    std::function<std::vector<std::string>(std::string_view before, std::string_view word)>
        complete;
  };

  // `max_line_bytes` bounds a script's lines (terminal lines are bounded by the core). `plain`
  // (--json) reads and writes plain lines even on a terminal.
  terminal(asio::any_io_executor executor, std::size_t max_line_bytes, bool plain = false);
  ~terminal();
  terminal(const terminal&) = delete;
  terminal& operator=(const terminal&) = delete;

  // True when stdin and stdout are both terminals: readline, a visible prompt, history.
  bool interactive() const { return interactive_; }

  // Starts reading input. The prompt shown is the last one set.
  void start(handlers callbacks);

  // One line of output; on a terminal it appears above the prompt and what is being typed.
  void print(std::string_view line);
  // A line about the peer itself rather than the session (a bound that bit): on a terminal like
  // print(), for a script on stderr, so that its stdout holds only what the session showed.
  void report(std::string_view line);
  // The terminal's bell (on a terminal only).
  void bell();

  // On a terminal: the prompt from now on. For a script: writes the prompt text (no newline),
  // as `read -p` does, each time the core asks for a line.
  void set_prompt(const prompt& next);

  // For a script: whether the core takes a line now. Reading pauses while it does not.
  void set_input_wanted(bool wanted);

  // Ctrl-C on a terminal (SIGINT): clears the typed line. `cleared` if there was text, `warned`
  // for the first Ctrl-C on an empty line, `confirmed` for a second one in a row (or without
  // readline: nothing to clear).
  enum class interrupt_effect { cleared, warned, confirmed };
  interrupt_effect interrupt();

  // Restores the terminal (readline's handler removed, prompt line cleared), saves the history
  // and stops reading. Safe to call more than once; the destructor calls it.
  void stop();

 private:
  asio::awaitable<void> read_terminal();
  asio::awaitable<void> read_script();
  asio::awaitable<void> watch_resize();
  asio::awaitable<void> watch_job_control();
  // Ctrl-Z: the terminal as the shell left it, then stop; and back again on SIGCONT.
  void suspend();
  void resume();
  // The history is reachable only at prompts that keep one.
  void show_history(bool shown);
  // The typed line put away for a question (prompt::aside) or given back.
  void set_line_aside(bool aside);
  // Without readline, on a terminal: no echo while a password is typed.
  void set_echo(bool on);
  // The next complete script line from buffer_, or why there is none.
  enum class scan { line, too_long, need_more };
  scan next_script_line(std::string& line);
  // The steps of read_script: wait for the core, hand on what buffer_ holds, read more.
  asio::awaitable<void> wait_until_input_wanted();
  enum class script_step { handed_on, need_input, finished };
  script_step hand_on_buffered_script();
  asio::awaitable<void> read_more_script();
  void read_script_chunk();
  void install_readline();
  void load_history();
  void save_history();
  void write_out(std::string_view text);

  static void on_readline_line(char* line);
  void add_typed_line(std::string text);
  static char** on_readline_complete(const char* word, int start, int end);
  static char* next_completion(const char* word, int state);
  static void hidden_redisplay();

  asio::any_io_executor executor_;
  std::size_t max_line_bytes_;
  bool interactive_;
  bool stdin_terminal_;
  // Regular files and other descriptors epoll cannot watch are read with plain blocking reads
  // (they never block on such files).
  bool blocking_reads_ = false;
  handlers handlers_;
  prompt prompt_;
  bool started_ = false;
  bool stopped_ = false;
  bool readline_installed_ = false;
  bool mid_line_ = false;  // script output: a prompt was written without its newline

  asio::posix::stream_descriptor input_;
  asio::signal_set resize_signal_;
  asio::signal_set job_signals_;
  // Used as a condition variable: set_input_wanted(true) and stop() cancel the reader's wait.
  asio::steady_timer wake_;
  bool input_wanted_ = false;

  // Script input not yet handed on; never more than max_line_bytes_ plus one read.
  std::string buffer_;
  bool discarding_ = false;  // skipping the rest of an over-long line
  bool input_ended_ = false;

  // Lines readline completed during one rl_callback_read_char(), handed on after it returns.
  std::vector<std::string> typed_lines_;
  bool typed_eof_ = false;
  std::vector<std::string> completions_;
  std::size_t next_completion_ = 0;
  std::string history_path_;
  int history_added_ = 0;
  // A first Ctrl-C on an empty line was seen, and no key since.
  bool interrupt_armed_ = false;
  // The half-typed line and cursor while a question shows.
  std::optional<std::pair<std::string, int>> line_aside_;
  // Plain input from a terminal: its modes before the echo was turned off.
  std::optional<termios> echo_modes_;
};

}  // namespace parley::peer

// The peer's session with the registry as a pure state machine: typed lines, decoded registry
// messages and connection events in; lines to print, prompts, messages to send and the exit
// code out (effects.hpp). No sockets, no terminal, no clock: the shell in peer/app feeds it.
//
// Input is handled strictly in order, one registry request at a time: while a login step or a
// command waits for its reply, further lines wait in a bounded queue. So a script's output is
// the same on every run, and a reply is always printed after the command that asked for it.
// Two kinds of line never wait behind a registry reply (SPEC 8.6): the answer to a consent
// prompt, and `private` / `stopprivate` for a chat that is open. Their effects are local or go
// straight to the other peer, so handling them early changes no reply's place in the output.
#pragma once

#include "peer/core/command.hpp"
#include "peer/core/effects.hpp"
#include "peer/core/private_chats.hpp"
#include "peer/crypto/chat_seal.hpp"
#include "shared/proto/messages.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace parley::peer {

// Lines typed ahead while a reply is awaited; past this the line is refused.
inline constexpr std::size_t max_pending_lines = 1024;
// Longest input line; a longer one is refused whole (`Error. Message too long`).
inline constexpr std::size_t max_line_bytes = 16 * 1024;
// User names remembered for Tab completion.
inline constexpr std::size_t max_known_names = 4096;
// Script lines read ahead while a reply is awaited, so that a private line further on can pass
// the wait; reading pauses at this many (the queue stays far below max_pending_lines).
inline constexpr std::size_t max_read_ahead_lines = 64;

struct core_config {
  // The command prompt: `> ` on a terminal, empty for a script (texts::command_prompt).
  std::string command_prompt;
  // SPEC 11: a lost registry link is reconnected and the session resumed with its ticket.
  bool reconnect = false;
};

class peer_core {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit peer_core(core_config config);

  // The port this peer accepts private chats on; announced to the registry on connecting, before
  // login.
  void set_private_port(std::uint16_t port) { private_port_ = port; }

  // The registry link is up: prompt for the user name.
  void on_connected(effects& out);

  // One input line, without its '\n'.
  void on_line(std::string line, effects& out);
  // An input line longer than max_line_bytes (the reader dropped it).
  void on_line_too_long(effects& out);
  // End of input (Ctrl-D, end of a script): once the queued lines are handled, log out if
  // logged in, else quit.
  void on_input_closed(effects& out);
  // SIGINT (Ctrl-C) or SIGTERM: log out now if logged in (a second one quits at once). Before
  // login, quit: with 130 for Ctrl-C (SPEC 11), 0 for SIGTERM.
  enum class stop_signal { interrupt, terminate };
  void on_interrupt(stop_signal signal, effects& out);

  // One decoded message from the registry; `now` dates a private_expect's token.
  void on_message(const proto::server_message& message, time_point now, effects& out);
  // The registry connection ended (closed, reset, or a frame that did not decode). With private
  // chats open the peer goes on for them alone; otherwise it ends.
  void on_disconnected(effects& out);
  // SPEC 11: a new link to the registry has said hello while reconnecting: the session is
  // resumed with its ticket.
  void on_reconnected(effects& out);
  // The shell has stopped trying, after `seconds`.
  void on_reconnect_given_up(long long seconds, effects& out);
  bool reconnecting() const { return reconnecting_; }

  // ------------------------------------------------ private chats (the shell's network)
  // The first frame of an incoming private-chat connection: on `answer` the shell runs the
  // target's handshake with the secrets given; on `unknown` it may ask again (after the next
  // registry message) until its handshake deadline, then closes.
  open_judgement on_private_open(const proto::p2p_open& opening, time_point now);
  // An incoming handshake for the expectation of `requester_key` succeeded. True when the
  // connection is now the chat with `user` (the shell sends p2p_ready); false: close it.
  bool on_private_proven(std::string_view user, const proto::chat_public_key& requester_key,
                         std::string_view safety, time_point now, effects& out);
  // Whether the registry has named `address` as the address of a requester this user agreed to
  // and whose connection has not come yet: the listener always finds room for it (SPEC 8.8).
  bool expects_private_from(std::string_view address, time_point now) const;
  // A dial asked for by dial_chat ended: its handshake succeeded (the chat is open, `safety` its
  // safety number), or it failed.
  void on_private_dialed(std::string_view user, bool opened, std::string_view safety, effects& out);
  // A message on the open chat with `user`.
  void on_private_message(std::string_view user, const proto::p2p_message& message, effects& out);
  // The chat connection with `user` ended without a p2p_stop.
  void on_private_closed(std::string_view user, effects& out);

  // The prompt to show now.
  const prompt& current_prompt() const { return prompt_; }
  // True when the next input line would be handled at once; a script reader waits otherwise
  // (so a long script never overflows the queue).
  bool ready_for_input() const;
  bool finished() const { return phase_ == phase::done; }
  bool logged_in() const;
  // A logout was sent and its end is awaited: another interrupt quits at once.
  bool logging_out() const { return awaiting_ == awaiting::session_end; }
  // The registry is gone but private chats go on.
  bool registry_lost() const { return registry_lost_; }

  // Tab completion: `before` is the line up to the word being completed. Command names at the
  // start of the line, known user names as a command's <user> argument.
  std::vector<std::string> completions(std::string_view before, std::string_view word) const;

 private:
  enum class phase {
    username,      // waiting for the user name
    password,      // waiting for a known user's password
    new_password,  // waiting for a new user's password
    login_step,    // a login_name or login_password awaits its login_reply
    logged_in,
    done,
  };
  // What a logged-in session waits for from the registry.
  enum class awaiting { nothing, stored, reply, user_list, session_end, resume };

  struct input {
    std::string line;
    bool too_long = false;
  };

  bool busy() const;
  void accept(input item, effects& out);
  void handle(input item, effects& out);
  void handle_username(const input& item, effects& out);
  void handle_password(const input& item, effects& out);
  void handle_new_password(const input& item, effects& out);
  void handle_command(const input& item, effects& out);
  // A consent answer, or a private line for an open chat: handled at once, queue or not.
  bool handle_out_of_turn(const input& item, effects& out);
  void answer_offer(const input& item, effects& out);
  // `line` is the command as typed, named to the user if the registry never answers it.
  void execute(const command& cmd, std::string_view line, effects& out);
  // Handles queued lines while nothing is awaited; then a closed input ends the session.
  void drain(effects& out);
  void finish_input(effects& out);

  void on_login_reply(const proto::login_reply& reply, effects& out);
  void on_stored_message(const proto::stored_message& m, effects& out);
  void on_presence(const proto::presence& m, effects& out);
  void on_command_reply(const proto::command_reply& reply, effects& out);
  void on_user_list(const proto::user_list& list, effects& out);
  void on_session_end(const proto::session_end& end, effects& out);
  void on_offer(const proto::private_offer& offer, effects& out);
  void on_resume_reply(const proto::resume_reply& reply, effects& out);
  // The link is lost with a ticket: named lines, the hint, and the shell reconnects.
  void start_reconnecting(effects& out);
  // The registry is gone for good: with chats open the peer goes on for them alone, else ends.
  void lose_registry(effects& out);
  // After a chat ends: with the registry gone, the last chat takes the peer with it.
  void check_last_chat(effects& out);
  // A command the registry must handle, while it is gone.
  bool refuse_without_registry(effects& out);
  void report_activity(effects& out);
  void reply_done(effects& out);

  void ask(phase next, effects& out);
  void send_login(proto::client_message message, effects& out);
  // Sends a command the registry answers; `line` waits in unconfirmed_ for that answer.
  void request(proto::client_message message, awaiting what, std::string_view line, effects& out);
  // One answer has come: the oldest command in flight is confirmed.
  void confirm_oldest();
  // The connection is lost: every command in flight, and every registry command typed and
  // still waiting its turn, is named (SPEC 6), oldest first, and dropped.
  void name_unconfirmed(effects& out);
  void log_out(effects& out);
  void finish(int code, effects& out);
  void remember_name(std::string_view name);

  core_config config_;
  phase phase_ = phase::username;
  awaiting awaiting_ = awaiting::nothing;
  prompt prompt_;
  std::deque<input> queue_;
  bool input_closed_ = false;
  std::string username_;
  // The user a pending `message` names: remembered for completion once it is delivered.
  std::string pending_target_;
  std::set<std::string, std::less<>> known_names_;
  private_chats private_chats_;
  std::uint16_t private_port_ = 0;
  // The id of the last stored message shown (SPEC 6: none is shown twice).
  std::uint64_t last_stored_shown_ = 0;
  bool registry_lost_ = false;
  // SPEC 11: the session's resume ticket (wiped bytes), and whether the link is being
  // reconnected; activity while it was down is reported once it is back.
  std::optional<crypto::secret_key> ticket_;
  bool reconnecting_ = false;
  bool activity_owed_ = false;
  // The lines of the commands sent to the registry and not yet answered, oldest first. Each
  // registry command gets exactly one answer (a command_reply, or a user list's final chunk), in
  // the order sent; deliveries, presence and private-chat messages are not answers. Input is
  // handled one request at a time, so this holds at most one line today.
  std::deque<std::string> unconfirmed_;
};

}  // namespace parley::peer

// The end-to-end harness: a registry on a free loopback port with its own credentials file and
// database in a temporary folder, peers on terminals or pipes, and a raw protocol client for the
// tests that must break the protocol on purpose.
#pragma once

#include "shared/proto/messages.hpp"
#include "tests/e2e/child_process.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace parley::e2e {

// A frame header (section 1 of docs/PROTOCOL.md) announcing `length` body bytes: what a hostile
// client sends before, or instead of, a body.
std::string frame_header(std::uint32_t length);

inline constexpr const char* registry_binary = PARLEY_REGISTRY_BIN;
inline constexpr const char* peer_binary = PARLEY_PEER_BIN;

// How long the registry may take to start listening (it hashes the credentials file first).
inline constexpr milliseconds registry_start_timeout = 15000ms;

// A fresh folder under /tmp, removed with everything in it at the end of the test (kept if
// PARLEY_E2E_KEEP is set, to look at after a failure).
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A file called `name` in a fresh temp_dir, holding `bytes` if given (else not created).
class temp_file {
 public:
  explicit temp_file(std::string_view name, std::optional<std::string_view> bytes = std::nullopt);
  const std::filesystem::path& path() const { return path_; }

 private:
  temp_dir dir_;
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view bytes);
// The lines of `text`, without their '\n'.
std::vector<std::string> split_lines(std::string_view text);

// A port nobody listened on a moment ago: bind 127.0.0.1:0, read the port, close.
std::uint16_t unused_port();
// Whether a TCP connection to 127.0.0.1:port succeeds now.
bool accepts_connections(std::uint16_t port);
// Polls `condition` until it holds (true) or `timeout` has passed (false).
bool wait_until(const std::function<bool()>& condition, milliseconds timeout = default_timeout);

struct user_account {
  std::string name;
  std::string password;
};
// The accounts of every test registry's credentials file.
const std::vector<user_account>& sample_users();
const std::string& password_of(std::string_view user);

// The content of a credentials file holding sample_users().
std::string sample_credentials();

struct registry_settings {
  int block_seconds = 60;
  int timeout_seconds = 600;
  // What the credentials file holds; nothing: there is no credentials file.
  std::optional<std::string> credentials = sample_credentials();
  // --hash-cost: cheap unless a test measures what hashing costs.
  std::string hash_cost = "test";
  // SPEC 10: TLS, as a registry runs by default; false starts it with --no-tls, and the peers
  // started for it (start_peer(registry...)) with --no-tls too.
  bool tls = true;
  // --log-level; debug, so that a failing test's log says what happened.
  std::string log_level = "debug";
};

// A registry process on 127.0.0.1, its files in a temporary folder that outlives restarts.
class registry_fixture {
 public:
  explicit registry_fixture(registry_settings settings = {}, call_site where = call_site::here());
  // With `extra_args` appended to the registry's command line at every start (a guard's option).
  registry_fixture(registry_settings settings, std::vector<std::string> extra_args,
                   call_site where = call_site::here());
  ~registry_fixture();
  registry_fixture(const registry_fixture&) = delete;
  registry_fixture& operator=(const registry_fixture&) = delete;

  // Starts the registry on a free port, on the same files, and waits until it has logged its
  // start-up line (`listening on 127.0.0.1:<port> ...`) and accepts connections. The port
  // changes at every start.
  void start(call_site where = call_site::here());
  // The same, on the port of the last start (SPEC 11: peers reconnect to where it was).
  void start_on_same_port(call_site where = call_site::here());
  // SIGTERM; the registry must exit 0.
  void stop(call_site where = call_site::here());
  void restart(call_site where = call_site::here());
  // SIGKILL, as a crash: no chance to commit or close anything.
  void kill9();

  std::uint16_t port() const { return port_; }
  const registry_settings& settings() const { return settings_; }
  const std::filesystem::path& folder() const { return dir_.path(); }
  std::filesystem::path credentials_path() const { return folder() / "credentials.txt"; }
  std::filesystem::path database_path() const { return folder() / "registry.db"; }
  std::filesystem::path log_path() const { return folder() / "registry.log"; }
  // The registry's stderr, over every start.
  std::string log() const { return read_file(log_path()); }
  // The fingerprint of its TLS key, as its log says ("SHA256:..."); empty with --no-tls.
  std::string fingerprint() const;
  child_process& process() { return *process_; }

  // A new, empty folder for a peer's HOME and XDG_STATE_HOME.
  std::filesystem::path new_home();

 private:
  registry_settings settings_;
  std::vector<std::string> extra_args_;
  temp_dir dir_;
  std::uint16_t port_ = 0;
  int homes_ = 0;
  std::unique_ptr<child_process> process_;
  void launch(bool same_port, call_site where);
};

using peer_ptr = std::unique_ptr<child_process>;

// A peer's next try comes within 10 s of its last (SPEC 11), and a restart takes a moment.
inline constexpr milliseconds reconnect_timeout = 15000ms;

// The environment of every peer: its own HOME, history and (empty) config, a known terminal, no
// inputrc, NO_COLOR.
std::vector<std::pair<std::string, std::string>> peer_environment(
    const std::filesystem::path& home);

// A peer on a terminal, as a user runs it, connected to the registry; it shows `Username: `.
peer_ptr start_peer(registry_fixture& registry);
// The same, with a given HOME (to share the history between runs, say).
peer_ptr start_peer(registry_fixture& registry, const std::filesystem::path& home);
// A peer on a terminal, connected to whatever listens on 127.0.0.1:port. A TLS registry's key
// (a fixture's) is pinned in `home` first, as if the user had met it before: the first-use note
// would otherwise follow the welcome in every test.
peer_ptr start_peer(std::uint16_t port, const std::filesystem::path& home);
// The same, with `extra_args` after the port (a guard's option).
peer_ptr start_peer(std::uint16_t port, const std::filesystem::path& home,
                    const std::vector<std::string>& extra_args);
// The same without the pin: the peer meets the registry as for the first time (or as `home`'s
// known_registries says).
peer_ptr start_unpinned_peer(std::uint16_t port, const std::filesystem::path& home,
                             const std::vector<std::string>& extra_args = {});
// A peer of the fixture's registry started in `mode`, as a shell's job with `job_control`
// (terminal mode); it shows `Username: `.
peer_ptr start_peer_as(registry_fixture& registry, io_mode mode, bool job_control = false);
// A peer of the fixture's registry in `mode` with `home` (its key pinned there), run with `args`
// in place of the port (add it yourself, or leave it to peer.toml), --no-tls added for a plain
// registry, and `environment` over peer_environment(home).
peer_ptr start_peer_with(registry_fixture& registry, io_mode mode,
                         const std::filesystem::path& home, const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& environment = {});
// A peer reading a script from a pipe: `script` is written, then its stdin is closed.
peer_ptr start_scripted_peer(registry_fixture& registry, std::string_view script);
// Answers the username and password prompts; the reply is the caller's to expect.
void answer_login_prompts(child_process& peer, std::string_view user, std::string_view password,
                          call_site where = call_site::here());
// Answers the login prompts of a terminal peer and waits for the welcome line.
void log_in(child_process& peer, std::string_view user, std::string_view password,
            call_site where = call_site::here());
// Logs in as `user` with two wrong passwords, each refused and asked again: the prompt shows.
void fail_password_twice(child_process& peer, std::string_view user, std::string_view first,
                         std::string_view second, call_site where = call_site::here());
// Answers the prompts as a user the registry does not know yet and waits for the welcome line.
void create_account(child_process& peer, std::string_view user, std::string_view password,
                    call_site where = call_site::here());
// A terminal peer, logged in as `user` with the password of the credentials file.
peer_ptr logged_in_peer(registry_fixture& registry, std::string_view user,
                        call_site where = call_site::here());
// The same, run with `extra_args` after the port (--reconnect-for 0, say).
peer_ptr logged_in_peer_with(registry_fixture& registry, std::string_view user,
                             std::vector<std::string> extra_args,
                             call_site where = call_site::here());
// `first`, then `second` logged in (logged_in_peer), and `first` has been told of `second`.
std::pair<peer_ptr, peer_ptr> two_logged_in_peers(registry_fixture& registry,
                                                  std::string_view first, std::string_view second,
                                                  call_site where = call_site::here());
// The session of the capture tests (tls_test, and proxy_test's plain control): yoda and luke
// log in through `port` from their homes, yoda is told of luke, yoda sends luke
// capture_direct_text and luke broadcasts capture_broadcast_text, each seen by the other.
inline constexpr std::string_view capture_direct_text = "A direct message for the capture";
inline constexpr std::string_view capture_broadcast_text = "A broadcast for the capture";
std::pair<peer_ptr, peer_ptr> chat_for_capture(std::uint16_t port,
                                               const std::filesystem::path& yoda_home,
                                               const std::filesystem::path& luke_home,
                                               const std::vector<std::string>& extra_args = {},
                                               call_site where = call_site::here());
// The whole answer to one command: sends `command`, then a command the peer answers on its own,
// and returns the lines printed in between, echoes and prompts left out. Input is handled in
// order, so the second answer comes only after the first.
std::vector<std::string> answer_to(child_process& peer, std::string_view command,
                                   call_site where = call_site::here());
// What a scripted peer prints for a successful login: prompts are not followed by a newline.
std::string scripted_welcome();
// Logs out and expects exit code 0.
void log_out(child_process& peer, call_site where = call_site::here());
// Waits until every one of `lines` has appeared, in any order, after the read mark (for lines
// that come over different connections, such as a presence and the end of a chat), and moves the
// mark past the last of them.
void expect_lines_in_any_order(child_process& peer, const std::vector<std::string>& lines,
                               milliseconds timeout = default_timeout,
                               call_site where = call_site::here());

// A peer on a terminal with the user name it logged in as, for the private-chat tests, whose
// texts name both sides.
struct user_peer {
  std::string name;
  peer_ptr process;
  child_process* operator->() const { return process.get(); }
  child_process& operator*() const { return *process; }
};
// Logged in, with its private-chat port known to the registry (others can ask it at once).
user_peer logged_in_user(registry_fixture& registry, std::string_view user,
                         call_site where = call_site::here());
user_peer logged_in_user_with(registry_fixture& registry, std::string_view user,
                              std::vector<std::string> extra_args,
                              call_site where = call_site::here());
// `first`, then `second` logged in (logged_in_user), and `first` has been told of `second`.
std::pair<user_peer, user_peer> two_logged_in_users(registry_fixture& registry,
                                                    std::string_view first, std::string_view second,
                                                    call_site where = call_site::here());
// `startprivate <target>` by `requester`, answered `answer`: waits until both sides show the start.
void open_private_chat(const user_peer& requester, const user_peer& target,
                       std::string_view answer = "y", call_site where = call_site::here());
// `target`, shown `requester`'s offer, answers `answer` (a yes): waits until both show the start.
void accept_private_chat(const user_peer& requester, const user_peer& target,
                         std::string_view answer = "y", call_site where = call_site::here());

// How often keep_active_until acts; well under the 2 s inactivity timeouts the tests use.
inline constexpr milliseconds keep_active_interval = 400ms;
// Runs `activity` every keep_active_interval until `peer` shows `line` (true) or `give_up` passes.
bool keep_active_until(child_process& peer, std::string_view line,
                       std::chrono::steady_clock::time_point give_up,
                       const std::function<void()>& activity);

// Stops a process with SIGSTOP for as long as it lives, and always lets it go on (SIGCONT), even
// when the test fails in between.
class stopped_process {
 public:
  explicit stopped_process(child_process& process);
  ~stopped_process();
  stopped_process(const stopped_process&) = delete;
  stopped_process& operator=(const stopped_process&) = delete;

 private:
  child_process& process_;
};

// The texts the tests match (SPEC; fixed byte for byte).
namespace text {
inline constexpr std::string_view username_prompt = "Username: ";
inline constexpr std::string_view password_prompt = "Password: ";
inline constexpr std::string_view new_user_prompt = "This is a new user. Enter a password: ";
inline constexpr std::string_view welcome = "Welcome to the greatest messaging application ever!";
inline constexpr std::string_view invalid_password = "Invalid Password. Please try again";
inline constexpr std::string_view now_locked =
    "Invalid Password. Your account has been blocked. Please try again later";
inline constexpr std::string_view account_locked =
    "Your account is blocked due to multiple login failures. Please try again later";
inline constexpr std::string_view invalid_command = "Error. Invalid command";
inline constexpr std::string_view invalid_user = "Error. Invalid user";
inline constexpr std::string_view cannot_message_self = "Error. Cannot message self";
inline constexpr std::string_view blocked_by_recipient =
    "Your message could not be delivered as the recipient has blocked you";
inline constexpr std::string_view broadcast_partial =
    "Your message could not be delivered to some recipients";
inline constexpr std::string_view no_other_users_online = "No other users online";
// After a Ctrl-C on an empty command line (the peer's own text, SPEC 11).
inline constexpr std::string_view interrupt_hint = "(Press Ctrl-C again to log out)";
inline constexpr std::string_view no_other_users = "No other users";
inline constexpr std::string_view cannot_block_self = "Error. Cannot block self";
inline constexpr std::string_view cannot_unblock_self = "Error. Cannot unblock self";
inline constexpr std::string_view message_too_long = "Error. Message too long";
inline constexpr std::string_view inactivity = "You have been logged out due to inactivity";
inline constexpr std::string_view registry_shut_down = "The registry has shut down";
inline constexpr std::string_view login_timed_out = "Error. Login timed out";
inline constexpr std::string_view lost_registry = "Error. Lost connection to the registry";
inline constexpr std::string_view not_connected = "Error. Not connected to the registry";
// SPEC 11 (the first fixed, the others the peer's own).
inline constexpr std::string_view reconnected = "Reconnected to the registry";
inline constexpr std::string_view reconnecting_hint =
    "Reconnecting to the registry; private chats go on";
inline constexpr std::string_view not_connected_hint =
    "Reconnecting; try again after \"Reconnected to the registry\"";
inline constexpr std::string_view could_not_reconnect =
    "Error. Could not reconnect to the registry";
// Private chats (SPEC 8; the last texts are the peer's own, where the spec is silent).
inline constexpr std::string_view cannot_private_self =
    "Error. Cannot start private messaging with self";
inline constexpr std::string_view private_chats_go_on =
    "Private chats go on; other commands need the registry";
inline constexpr std::string_view too_many_private_chats = "Error. Too many private chats";
inline std::string private_offer(std::string_view from) {
  return std::string(from) + " would like to private message, enter y or n: ";
}
inline std::string private_declined(std::string_view target) {
  return std::string(target) + " declined private messaging";
}
inline std::string private_accepts(std::string_view target) {
  return std::string(target) + " accepts private messaging";
}
inline std::string private_start(std::string_view other) {
  return "Start private messaging with " + std::string(other);
}
inline std::string private_text(std::string_view from, std::string_view message) {
  return std::string(from) + "(private): " + std::string(message);
}
inline std::string private_stopped(std::string_view other) {
  return "Private messaging with " + std::string(other) + " stopped";
}
inline std::string private_stopped_by(std::string_view other) {
  return std::string(other) + " stopped private messaging";
}
inline std::string private_ended(std::string_view other) {
  return "Private messaging with " + std::string(other) + " ended";
}
inline std::string private_not_enabled(std::string_view other) {
  return "Error. Private messaging to " + std::string(other) + " not enabled";
}
inline std::string private_already_enabled(std::string_view other) {
  return "Error. Private messaging with " + std::string(other) + " already enabled";
}
inline std::string user_offline(std::string_view user) {
  return "Error. " + std::string(user) + " is offline";
}
inline std::string private_blocked(std::string_view user) {
  return "Error. Cannot start private messaging as " + std::string(user) + " has blocked you";
}
inline std::string private_pending(std::string_view user) {
  return "Error. A private messaging request to " + std::string(user) + " is already waiting";
}
inline std::string private_busy(std::string_view user) {
  return "Error. " + std::string(user) + " has too many private messaging requests waiting";
}
inline std::string private_unavailable(std::string_view user) {
  return "Error. " + std::string(user) + " cannot accept private messaging";
}
inline std::string private_dial_failed(std::string_view user) {
  return "Error. Could not connect to " + std::string(user) + " for private messaging";
}
// The command prompt of a peer on a terminal.
inline constexpr std::string_view command_prompt = "> ";
}  // namespace text

// A TCP connection that speaks the protocol frame by frame, or not at all: a client of the
// registry, or (accepted by a listener) a fake registry facing a peer.
//
// To a registry started by a registry_fixture with TLS, the client speaks TLS (it looks the port
// up among those the fixtures have started), accepting any certificate: the attacks and checks
// written against raw frames then meet the registry as it runs by default. Elsewhere (a
// private-chat listener, a --no-tls registry, a test's own listener) it speaks plain frames.
// A handshake the registry refuses (a refused connection) leaves the client closed.
class raw_client {
 public:
  explicit raw_client(std::uint16_t port, call_site where = call_site::here());
  // From another loopback address (all of 127.0.0.0/8 is on lo): an attacker apart from the
  // victims, as the registry's per-address guards see it.
  raw_client(std::uint16_t port, const char* from_address, call_site where = call_site::here());
  // A connected socket (a client's made by hand, or one a listener accepted): TLS as for a
  // port, when `port` is a TLS registry's.
  explicit raw_client(unique_fd connected, std::uint16_t port = 0);
  ~raw_client();
  raw_client(raw_client&&) noexcept;
  raw_client& operator=(raw_client&&) noexcept;
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  // Whether the client speaks TLS, and if so whether its handshake was refused.
  bool uses_tls() const { return tls_ != nullptr; }

  // Whatever bytes; false if the connection refused them (it was closed).
  bool send_bytes(std::string_view bytes);
  void send(const proto::client_message& message, call_site where = call_site::here());
  // As a fake registry, to the peer it accepted.
  void send_to_peer(const proto::server_message& message, call_site where = call_site::here());
  // As a peer on a private-chat connection.
  void send_p2p(const proto::p2p_message& message, call_site where = call_site::here());
  // The next frame, decoded; nothing if the connection closed or the timeout passed.
  std::optional<proto::server_message> receive(milliseconds timeout = default_timeout,
                                               call_site where = call_site::here());
  // Skips frames until one of type T arrives.
  template <class T>
  T expect(milliseconds timeout = default_timeout, call_site where = call_site::here());
  // Hello, name, password: a logged-in session.
  void log_in(std::string_view user, std::string_view password,
              call_site where = call_site::here());
  // Reads and drops everything until the other side closes the connection; false on timeout.
  bool wait_closed(milliseconds timeout = default_timeout);
  // The next frame's body, undecoded (what a peer sends to a fake registry).
  std::optional<std::string> receive_body(milliseconds timeout = default_timeout);
  // As a fake registry: the next frame from the peer, decoded; nothing if the connection closed
  // or the timeout passed.
  std::optional<proto::client_message> receive_from_peer(milliseconds timeout = default_timeout,
                                                         call_site where = call_site::here());
  // Skips frames from the peer until one of type T arrives.
  template <class T>
  T expect_from_peer(milliseconds timeout = default_timeout, call_site where = call_site::here());
  // As a fake registry: logs `peer` in as `user`, answering its hello, name and password, until
  // it shows the welcome. Returns the private-chat port the peer announced on the way.
  std::uint16_t welcome_peer(child_process& peer, std::string_view user,
                             call_site where = call_site::here());
  // On a private-chat connection: the next frame, decoded.
  std::optional<proto::p2p_message> receive_p2p(milliseconds timeout = default_timeout,
                                                call_site where = call_site::here());

 private:
  // Reads exactly `size` bytes; false on end of stream, error or timeout.
  bool read_exactly(char* data, std::size_t size, std::chrono::steady_clock::time_point deadline);
  // Some bytes (> 0), 0 at the end of the stream or on an error, -1 on timeout.
  long read_some(char* data, std::size_t size, std::chrono::steady_clock::time_point deadline);
  void start_tls_if_registry(std::uint16_t port);

  unique_fd socket_;
  struct tls_state;
  std::unique_ptr<tls_state> tls_;
};

// The ports of the registries started with TLS by fixtures of this process (raw_client's look-up).
bool is_tls_registry_port(std::uint16_t port);
// The fingerprint in the last "TLS key SHA256:..." line of a registry's log; empty if none.
std::string logged_fingerprint(std::string_view log);
// The peer's known_registries file under `home` (no XDG_DATA_HOME in the tests' environment).
std::filesystem::path known_registries_file(const std::filesystem::path& home);
// Writes the pin a peer keeps after its first connection to the registry on 127.0.0.1:`port`
// into the known_registries of the peer whose HOME is `home`.
void pin_registry(const std::filesystem::path& home, std::uint16_t port,
                  std::string_view fingerprint);

// A listening socket on 127.0.0.1, to stand in for the registry.
class listener {
 public:
  listener();
  std::uint16_t port() const { return port_; }
  // The next connection, or a failure after the timeout.
  raw_client accept(milliseconds timeout = default_timeout, call_site where = call_site::here());

 private:
  unique_fd socket_;
  std::uint16_t port_ = 0;
};

template <class T>
T raw_client::expect(milliseconds timeout, call_site where) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    auto message = receive(std::max(left, 0ms), where);
    if (!message) fail_at(where, "raw client: the expected message did not arrive");
    if (auto* wanted = std::get_if<T>(&*message)) return std::move(*wanted);
  }
}

template <class T>
T raw_client::expect_from_peer(milliseconds timeout, call_site where) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    auto message = receive_from_peer(std::max(left, 0ms), where);
    if (!message) fail_at(where, "fake registry: the expected message did not arrive");
    if (auto* wanted = std::get_if<T>(&*message)) return std::move(*wanted);
  }
}

}  // namespace parley::e2e

// Lines in failure messages: shown one per line, quoted, instead of doctest's `{?}`.
template <>
struct doctest::StringMaker<std::vector<std::string>> {
  static doctest::String convert(const std::vector<std::string>& lines);
};

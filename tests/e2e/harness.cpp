#include "tests/e2e/harness.hpp"

#include "shared/net/tls_session.hpp"
#include "shared/proto/codec.hpp"
#include "shared/proto/frame.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace parley::e2e {

std::string frame_header(std::uint32_t length) {
  std::string header(proto::frame_header_bytes, '\0');
  proto::write_frame_length(header.data(), length);
  return header;
}

namespace {

using steady = std::chrono::steady_clock;

// A port can be taken between unused_port() and the registry's bind: try a few others.
constexpr int max_start_attempts = 5;
// How often start() checks whether the registry accepts connections yet.
constexpr milliseconds start_poll_interval = 20ms;
// The registry's own shutdown waits up to 2 s for connections to close.
constexpr milliseconds registry_stop_timeout = 10000ms;
// How often expect_lines_in_any_order looks at the output again.
constexpr milliseconds poll_interval = 20ms;
// How much of the registry's log a failure message shows.
constexpr std::size_t log_tail_bytes = 3000;

std::string log_tail(std::string_view log) {
  if (log.size() <= log_tail_bytes) return std::string(log);
  return "..." + std::string(log.substr(log.size() - log_tail_bytes));
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

unique_fd tcp_socket() {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error("socket failed: " + std::string(strerror(errno)));
  return fd;
}

}  // namespace

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-e2e-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed: " + std::string(strerror(errno)));
  path_ = pattern;
}

temp_dir::~temp_dir() {
  if (std::getenv("PARLEY_E2E_KEEP") != nullptr) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

temp_file::temp_file(std::string_view name, std::optional<std::string_view> bytes)
    : path_(dir_.path() / name) {
  if (bytes) write_file(path_, *bytes);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::uint16_t unused_port() {
  const auto fd = tcp_socket();
  auto address = loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw std::runtime_error("bind failed: " + std::string(strerror(errno)));
  socklen_t length = sizeof address;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

bool accepts_connections(std::uint16_t port) {
  const auto fd = tcp_socket();
  const auto address = loopback(port);
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

const std::vector<user_account>& sample_users() {
  static const std::vector<user_account> users = {
      {"yoda", "wise"},  {"luke", "jedi"},  {"hans", "solo"},
      {"leia", "rebel"}, {"vader", "sith"}, {"r2d2", "beep"},
  };
  return users;
}

const std::string& password_of(std::string_view user) {
  for (const auto& account : sample_users())
    if (account.name == user) return account.password;
  throw std::invalid_argument("no sample user " + std::string(user));
}

// ------------------------------------------------------------------------- registry_fixture

namespace {

std::mutex tls_ports_mutex;
// The TLS registries' ports, with each one's key fingerprint.
std::map<std::uint16_t, std::string>& tls_ports() {
  static std::map<std::uint16_t, std::string> ports;
  return ports;
}
void set_tls_port(std::uint16_t port, std::optional<std::string> fingerprint) {
  const std::lock_guard lock(tls_ports_mutex);
  if (fingerprint) {
    tls_ports()[port] = std::move(*fingerprint);
  } else {
    tls_ports().erase(port);
  }
}
std::optional<std::string> tls_fingerprint(std::uint16_t port) {
  const std::lock_guard lock(tls_ports_mutex);
  const auto it = tls_ports().find(port);
  if (it == tls_ports().end()) return std::nullopt;
  return it->second;
}

}  // namespace

bool is_tls_registry_port(std::uint16_t port) { return tls_fingerprint(port).has_value(); }

std::string logged_fingerprint(std::string_view log) {
  const auto at = log.rfind("TLS key SHA256:");
  if (at == std::string_view::npos) return {};
  const auto start = at + std::string_view("TLS key ").size();
  return std::string(log.substr(start, log.find(' ', start) - start));
}

std::filesystem::path known_registries_file(const std::filesystem::path& home) {
  return home / ".local" / "share" / "parley" / "known_registries";
}

namespace {
// A line of known_registries pinning the fixture registry on `port`.
std::string pin_line(std::uint16_t port, std::string_view fingerprint) {
  return "127.0.0.1:" + std::to_string(port) + " " + std::string(fingerprint);
}
}  // namespace

void pin_registry(const std::filesystem::path& home, std::uint16_t port,
                  std::string_view fingerprint) {
  const auto file = known_registries_file(home);
  std::filesystem::create_directories(file.parent_path());
  std::filesystem::permissions(file.parent_path(), std::filesystem::perms::owner_all);
  std::ofstream out(file, std::ios::app);
  out << pin_line(port, fingerprint) << "\n";
}

std::string sample_credentials() {
  std::string credentials;
  for (const auto& account : sample_users())
    credentials += account.name + " " + account.password + "\n";
  return credentials;
}

registry_fixture::registry_fixture(registry_settings settings, call_site where)
    : settings_(std::move(settings)) {
  if (settings_.credentials) write_file(credentials_path(), *settings_.credentials);
  start(where);
}

registry_fixture::registry_fixture(registry_settings settings, std::vector<std::string> extra_args,
                                   call_site where)
    : settings_(std::move(settings)), extra_args_(std::move(extra_args)) {
  if (settings_.credentials) write_file(credentials_path(), *settings_.credentials);
  start(where);
}

registry_fixture::~registry_fixture() { set_tls_port(port_, std::nullopt); }

std::string registry_fixture::fingerprint() const {
  return tls_fingerprint(port_).value_or(std::string());
}

void registry_fixture::start(call_site where) { launch(false, where); }

void registry_fixture::start_on_same_port(call_site where) { launch(true, where); }

void registry_fixture::launch(bool same_port, call_site where) {
  set_tls_port(port_, std::nullopt);
  for (int attempt = 1; attempt <= max_start_attempts; ++attempt) {
    // The same port: another process may hold it for a moment (the peers' reconnects do not:
    // they only connect); a new one: any free port.
    if (!same_port || port_ == 0) port_ = unused_port();
    if (same_port && attempt > 1) pause(start_poll_interval);
    const auto log_before = log().size();
    launch_options options;
    options.argv = {registry_binary,
                    std::to_string(port_),
                    std::to_string(settings_.block_seconds),
                    std::to_string(settings_.timeout_seconds),
                    "--credentials",
                    credentials_path().string(),
                    "--db",
                    database_path().string(),
                    "--hash-cost",
                    settings_.hash_cost,
                    "--log-level",
                    settings_.log_level};
    if (!settings_.tls) options.argv.push_back("--no-tls");
    options.argv.insert(options.argv.end(), extra_args_.begin(), extra_args_.end());
    options.environment = {{"NO_COLOR", "1"}};
    options.stderr_file = log_path();
    process_ = std::make_unique<child_process>(options);

    // Ready once this run has logged its start-up line and accepts connections. The line tells
    // this registry apart from another process that may have taken the port meanwhile (this
    // registry then fails to bind, and exits).
    const auto startup_line = "listening on 127.0.0.1:" + std::to_string(port_);
    const auto ready = [&] {
      return log().find(startup_line, log_before) != std::string::npos &&
             accepts_connections(port_);
    };
    const auto deadline = steady::now() + registry_start_timeout;
    while (!ready()) {
      if (!process_->running()) break;
      if (steady::now() >= deadline)
        fail_at(where,
                "the registry did not accept connections in time; its log:\n" + log_tail(log()));
      pause(start_poll_interval);
    }
    if (process_->running()) {
      if (settings_.tls) {
        const auto fingerprint = logged_fingerprint(std::string_view(log()).substr(log_before));
        if (fingerprint.empty())
          fail_at(where, "the registry logged no TLS key; its log:\n" + log_tail(log()));
        set_tls_port(port_, fingerprint);
      }
      return;
    }

    const auto this_run = log().substr(log_before);
    if (this_run.find("in use") == std::string::npos)
      fail_at(where, "the registry exited at start-up with " +
                         std::to_string(process_->wait_exit()) + "; its log:\n" +
                         log_tail(this_run));
  }
  fail_at(where, "the registry found no free port; its log:\n" + log_tail(log()));
}

void registry_fixture::stop(call_site where) {
  set_tls_port(port_, std::nullopt);
  process_->signal(SIGTERM);
  const int code = process_->wait_exit(registry_stop_timeout, where);
  if (code != 0)
    fail_at(where, "the registry exited with " + std::to_string(code) +
                       " after SIGTERM (expected 0); its log:\n" + log_tail(log()));
}

void registry_fixture::restart(call_site where) {
  stop(where);
  start(where);
}

void registry_fixture::kill9() {
  set_tls_port(port_, std::nullopt);
  process_->signal(SIGKILL);
  process_->wait_exit();
}

std::filesystem::path registry_fixture::new_home() {
  auto home = folder() / ("home-" + std::to_string(++homes_));
  std::filesystem::create_directories(home);
  return home;
}

// ------------------------------------------------------------------------- peers

std::vector<std::pair<std::string, std::string>> peer_environment(
    const std::filesystem::path& home) {
  return {
      {"HOME", home.string()},
      {"XDG_STATE_HOME", (home / ".local" / "state").string()},
      // The machine's own peer.toml must not change what a test sees.
      {"XDG_CONFIG_HOME", (home / ".config").string()},
      // SPEC's texts byte for byte in the raw output, so that a search for a line that must not
      // appear cannot miss it for a colour code inside (the colour has a test of its own).
      {"NO_COLOR", "1"},
      {"TERM", "xterm"},
      // Readline key bindings as shipped, whatever the machine's /etc/inputrc says.
      {"INPUTRC", "/dev/null"},
  };
}

peer_ptr start_peer(registry_fixture& registry) {
  return start_peer(registry, registry.new_home());
}

peer_ptr start_peer(registry_fixture& registry, const std::filesystem::path& home) {
  if (!registry.settings().tls) return start_peer(registry.port(), home, {"--no-tls"});
  return start_peer(registry.port(), home);
}

peer_ptr start_peer(std::uint16_t port, const std::filesystem::path& home) {
  return start_peer(port, home, {});
}

namespace {

// As if the user had met this registry before: its key pinned in the home, unless it is already.
void pin_if_tls_registry(const std::filesystem::path& home, std::uint16_t port) {
  const auto fingerprint = tls_fingerprint(port);
  if (!fingerprint) return;
  if (read_file(known_registries_file(home)).find(pin_line(port, *fingerprint)) ==
      std::string::npos)
    pin_registry(home, port, *fingerprint);
}

}  // namespace

peer_ptr start_peer(std::uint16_t port, const std::filesystem::path& home,
                    const std::vector<std::string>& extra_args) {
  pin_if_tls_registry(home, port);
  return start_unpinned_peer(port, home, extra_args);
}

peer_ptr start_unpinned_peer(std::uint16_t port, const std::filesystem::path& home,
                             const std::vector<std::string>& extra_args) {
  launch_options options;
  options.argv = {peer_binary, std::to_string(port)};
  options.argv.insert(options.argv.end(), extra_args.begin(), extra_args.end());
  options.mode = io_mode::terminal;
  options.environment = peer_environment(home);
  return std::make_unique<child_process>(options);
}

peer_ptr start_peer_as(registry_fixture& registry, io_mode mode, bool job_control) {
  launch_options options;
  options.argv = {peer_binary, std::to_string(registry.port())};
  if (!registry.settings().tls) options.argv.push_back("--no-tls");
  options.mode = mode;
  options.job_control = job_control;
  const auto home = registry.new_home();
  pin_if_tls_registry(home, registry.port());
  options.environment = peer_environment(home);
  return std::make_unique<child_process>(options);
}

peer_ptr start_peer_with(registry_fixture& registry, io_mode mode,
                         const std::filesystem::path& home, const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& environment) {
  launch_options options;
  options.argv = {peer_binary};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  if (!registry.settings().tls) options.argv.push_back("--no-tls");
  options.mode = mode;
  pin_if_tls_registry(home, registry.port());
  options.environment = peer_environment(home);
  for (const auto& [name, value] : environment) {
    const auto same = std::find_if(options.environment.begin(), options.environment.end(),
                                   [&](const auto& entry) { return entry.first == name; });
    if (same != options.environment.end()) {
      same->second = value;
    } else {
      options.environment.emplace_back(name, value);
    }
  }
  return std::make_unique<child_process>(options);
}

peer_ptr start_scripted_peer(registry_fixture& registry, std::string_view script) {
  launch_options options;
  options.argv = {peer_binary, std::to_string(registry.port())};
  if (!registry.settings().tls) options.argv.push_back("--no-tls");
  options.mode = io_mode::pipes;
  const auto home = registry.new_home();
  pin_if_tls_registry(home, registry.port());
  options.environment = peer_environment(home);
  auto peer = std::make_unique<child_process>(options);
  peer->send_raw(script);
  peer->close_input();
  return peer;
}

namespace {

// Waits for `prompt`, then types `reply`.
void answer_prompt(child_process& peer, std::string_view prompt, std::string_view reply,
                   call_site where) {
  peer.expect(prompt, default_timeout, where);
  peer.send_line(reply, where);
}

}  // namespace

void answer_login_prompts(child_process& peer, std::string_view user, std::string_view password,
                          call_site where) {
  answer_prompt(peer, text::username_prompt, user, where);
  answer_prompt(peer, text::password_prompt, password, where);
}

void log_in(child_process& peer, std::string_view user, std::string_view password,
            call_site where) {
  answer_login_prompts(peer, user, password, where);
  peer.expect_line(text::welcome, default_timeout, where);
}

void fail_password_twice(child_process& peer, std::string_view user, std::string_view first,
                         std::string_view second, call_site where) {
  answer_login_prompts(peer, user, first, where);
  peer.expect_line(text::invalid_password, default_timeout, where);
  answer_prompt(peer, text::password_prompt, second, where);
  peer.expect_line(text::invalid_password, default_timeout, where);
  peer.expect(text::password_prompt, default_timeout, where);
}

void create_account(child_process& peer, std::string_view user, std::string_view password,
                    call_site where) {
  answer_prompt(peer, text::username_prompt, user, where);
  answer_prompt(peer, text::new_user_prompt, password, where);
  peer.expect_line(text::welcome, default_timeout, where);
}

peer_ptr logged_in_peer(registry_fixture& registry, std::string_view user, call_site where) {
  auto peer = start_peer(registry);
  log_in(*peer, user, password_of(user), where);
  return peer;
}

namespace {

// `first`, then `second` logged in by `log_in_one`, and `first` has been told of `second`.
template <class Log_in_one>
auto log_in_two(registry_fixture& registry, std::string_view first, std::string_view second,
                call_site where, Log_in_one log_in_one) {
  auto first_peer = log_in_one(registry, first, where);
  auto second_peer = log_in_one(registry, second, where);
  first_peer->expect_line(std::string(second) + " logged in", default_timeout, where);
  return std::pair{std::move(first_peer), std::move(second_peer)};
}

}  // namespace

std::pair<peer_ptr, peer_ptr> two_logged_in_peers(registry_fixture& registry,
                                                  std::string_view first, std::string_view second,
                                                  call_site where) {
  return log_in_two(registry, first, second, where, logged_in_peer);
}

std::pair<peer_ptr, peer_ptr> chat_for_capture(std::uint16_t port,
                                               const std::filesystem::path& yoda_home,
                                               const std::filesystem::path& luke_home,
                                               const std::vector<std::string>& extra_args,
                                               call_site where) {
  auto yoda = start_peer(port, yoda_home, extra_args);
  log_in(*yoda, "yoda", password_of("yoda"), where);
  auto luke = start_peer(port, luke_home, extra_args);
  log_in(*luke, "luke", password_of("luke"), where);
  yoda->expect_line("luke logged in", default_timeout, where);
  CHECK(answer_to(*yoda, "message luke " + std::string(capture_direct_text), where).empty());
  luke->expect_line("yoda: " + std::string(capture_direct_text), default_timeout, where);
  CHECK(answer_to(*luke, "broadcast " + std::string(capture_broadcast_text), where).empty());
  yoda->expect_line("luke: " + std::string(capture_broadcast_text), default_timeout, where);
  return {std::move(yoda), std::move(luke)};
}

std::vector<std::string> answer_to(child_process& peer, std::string_view command, call_site where) {
  // A command the peer answers on its own, with a line no other command prints: stopping a
  // private chat that is not open.
  constexpr std::string_view marker_user = "e2e-marker";
  const auto marker = "stopprivate " + std::string(marker_user);
  const auto marker_answer =
      "Error. Private messaging to " + std::string(marker_user) + " not enabled";
  peer.read_output();
  const auto first = peer.output().lines().size();
  peer.send_line(command, where);
  peer.send_line(marker, where);
  peer.expect_line(marker_answer, default_timeout, where);
  const auto& lines = peer.output().lines();
  const auto echoed = std::string(text::command_prompt) + std::string(command);
  std::vector<std::string> answer;
  for (auto index = first; index + 1 < peer.output().mark_line(); ++index) {
    const auto& line = lines[index];
    if (line == command || line == echoed || line.ends_with(marker)) continue;
    answer.push_back(line);
  }
  return answer;
}

std::string scripted_welcome() {
  return std::string(text::username_prompt) + std::string(text::password_prompt) +
         std::string(text::welcome) + "\n";
}

void log_out(child_process& peer, call_site where) {
  peer.send_line("logout", where);
  const int code = peer.wait_exit(default_timeout, where);
  if (code != 0)
    fail_at(where, "the peer exited with " + std::to_string(code) + " after logout (expected 0)\n" +
                       peer.describe_output());
}

void expect_lines_in_any_order(child_process& peer, const std::vector<std::string>& lines,
                               milliseconds timeout, call_site where) {
  const auto first = peer.output().mark_line();
  const auto deadline = steady::now() + timeout;
  while (true) {
    peer.read_output(poll_interval);
    const auto& shown = peer.output().lines();
    // Where each wanted line first appears after the mark; the last of those is consumed.
    std::size_t last_index = 0;
    std::string last_line;
    bool all_shown = true;
    for (const auto& line : lines) {
      const auto begin = shown.begin() + static_cast<std::ptrdiff_t>(first);
      const auto found = std::find(begin, shown.end(), line);
      if (found == shown.end()) {
        all_shown = false;
        break;
      }
      const auto index = static_cast<std::size_t>(found - shown.begin());
      if (last_line.empty() || index >= last_index) {
        last_index = index;
        last_line = line;
      }
    }
    if (all_shown) {
      peer.expect_line(last_line, timeout, where);
      return;
    }
    if (steady::now() >= deadline) {
      std::string wanted;
      for (const auto& line : lines) wanted += "\n  \"" + line + "\"";
      fail_at(where, "expected these lines in any order within " + std::to_string(timeout.count()) +
                         " ms:" + wanted + "\n" + peer.describe_output());
    }
  }
}

peer_ptr logged_in_peer_with(registry_fixture& registry, std::string_view user,
                             std::vector<std::string> extra_args, call_site where) {
  if (!registry.settings().tls) extra_args.emplace_back("--no-tls");
  auto peer = start_peer(registry.port(), registry.new_home(), extra_args);
  log_in(*peer, user, password_of(user), where);
  return peer;
}

user_peer logged_in_user(registry_fixture& registry, std::string_view user, call_site where) {
  return logged_in_user_with(registry, user, {}, where);
}

user_peer logged_in_user_with(registry_fixture& registry, std::string_view user,
                              std::vector<std::string> extra_args, call_site where) {
  user_peer logged_in{std::string(user),
                      logged_in_peer_with(registry, user, std::move(extra_args), where)};
  // The peer announces its private-chat port right after the welcome, while the registry has
  // already told the others that the user logged in: a startprivate sent at once could overtake
  // the announcement. The answer to a later command on the same link proves it has arrived.
  answer_to(*logged_in, "whoelse", where);
  return logged_in;
}

std::pair<user_peer, user_peer> two_logged_in_users(registry_fixture& registry,
                                                    std::string_view first, std::string_view second,
                                                    call_site where) {
  return log_in_two(registry, first, second, where, logged_in_user);
}

void open_private_chat(const user_peer& requester, const user_peer& target, std::string_view answer,
                       call_site where) {
  requester->send_line("startprivate " + target.name, where);
  target->expect(text::private_offer(requester.name), default_timeout, where);
  accept_private_chat(requester, target, answer, where);
}

void accept_private_chat(const user_peer& requester, const user_peer& target,
                         std::string_view answer, call_site where) {
  target->send_line(answer, where);
  target->expect_line(text::private_start(requester.name), default_timeout, where);
  requester->expect_line(text::private_accepts(target.name), default_timeout, where);
  requester->expect_line(text::private_start(target.name), default_timeout, where);
}

bool keep_active_until(child_process& peer, std::string_view line, steady::time_point give_up,
                       const std::function<void()>& activity) {
  bool shown = false;
  while (!shown && steady::now() < give_up) {
    activity();
    shown = peer.wait_for(line, keep_active_interval);
  }
  return shown;
}

stopped_process::stopped_process(child_process& process) : process_(process) {
  process_.signal(SIGSTOP);
}

stopped_process::~stopped_process() { process_.signal(SIGCONT); }

// ------------------------------------------------------------------------- raw_client

struct raw_client::tls_state {
  std::unique_ptr<net::tls_session> session;
  bool refused = false;  // the handshake failed: the registry closed the connection
};

namespace {

// One context for every raw TLS client: any certificate is accepted (the tests are about what
// the registry does, not whom the client trusts).
const net::tls_context& raw_tls_context() {
  static const std::unique_ptr<net::tls_context> context = [] {
    std::string error;
    auto made = net::tls_context::client(error);
    if (!made) throw std::runtime_error("raw client: no TLS context: " + error);
    return made;
  }();
  return *context;
}

// Waits until `fd` is ready for what `status` asks; false past the deadline.
bool wait_for(int fd, net::tls_session::status status, steady::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - steady::now());
  if (left <= 0ms) return false;
  pollfd ready{
      fd, static_cast<short>(status == net::tls_session::status::want_write ? POLLOUT : POLLIN), 0};
  return ::poll(&ready, 1, static_cast<int>(left.count())) > 0;
}

}  // namespace

raw_client::raw_client(std::uint16_t port, call_site where) : socket_(tcp_socket()) {
  const auto address = loopback(port);
  if (::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    fail_at(where,
            "raw client: cannot connect to port " + std::to_string(port) + ": " + strerror(errno));
  start_tls_if_registry(port);
}

raw_client::raw_client(unique_fd connected, std::uint16_t port) : socket_(std::move(connected)) {
  start_tls_if_registry(port);
}

raw_client::~raw_client() = default;
raw_client::raw_client(raw_client&&) noexcept = default;
raw_client& raw_client::operator=(raw_client&&) noexcept = default;

void raw_client::start_tls_if_registry(std::uint16_t port) {
  if (port == 0 || !is_tls_registry_port(port)) return;
  const int flags = ::fcntl(socket_.get(), F_GETFL);
  ::fcntl(socket_.get(), F_SETFL, flags | O_NONBLOCK);
  tls_ = std::make_unique<tls_state>();
  tls_->session = std::make_unique<net::tls_session>(raw_tls_context(), socket_.get());
  const auto deadline = steady::now() + default_timeout;
  for (;;) {
    const auto step = tls_->session->handshake();
    if (step.what == net::tls_session::status::done) return;
    if ((step.what != net::tls_session::status::want_read &&
         step.what != net::tls_session::status::want_write) ||
        !wait_for(socket_.get(), step.what, deadline)) {
      tls_->refused = true;
      return;
    }
  }
}

long raw_client::read_some(char* data, std::size_t size, steady::time_point deadline) {
  if (!tls_) {
    for (;;) {
      if (!wait_for(socket_.get(), net::tls_session::status::want_read, deadline)) return -1;
      const auto got = ::recv(socket_.get(), data, size, 0);
      if (got < 0 && errno == EINTR) continue;
      return got < 0 ? 0 : static_cast<long>(got);
    }
  }
  if (tls_->refused) return 0;
  for (;;) {
    const auto got = tls_->session->read(data, size);
    switch (got.what) {
      case net::tls_session::status::done: return static_cast<long>(got.bytes);
      case net::tls_session::status::want_read:
      case net::tls_session::status::want_write:
        if (!wait_for(socket_.get(), got.what, deadline)) return -1;
        continue;
      default: return 0;
    }
  }
}

bool wait_until(const std::function<bool()>& condition, milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  while (!condition()) {
    if (steady::now() >= deadline) return false;
    pause(10ms);
  }
  return true;
}

raw_client::raw_client(std::uint16_t port, const char* from_address, call_site where)
    : socket_(tcp_socket()) {
  sockaddr_in source{};
  source.sin_family = AF_INET;
  if (::inet_pton(AF_INET, from_address, &source.sin_addr) != 1)
    fail_at(where, std::string("raw client: not an IPv4 address: ") + from_address);
  if (::bind(socket_.get(), reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0)
    fail_at(where,
            std::string("raw client: cannot bind to ") + from_address + ": " + strerror(errno));
  const auto address = loopback(port);
  if (::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    fail_at(where,
            "raw client: cannot connect to port " + std::to_string(port) + ": " + strerror(errno));
  start_tls_if_registry(port);
}

bool raw_client::send_bytes(std::string_view bytes) {
  if (tls_) {
    if (tls_->refused) return false;
    const auto deadline = steady::now() + default_timeout;
    // Records of at most 16 KiB, each retried with the same bytes until the socket takes it.
    while (!bytes.empty()) {
      const auto chunk = std::min<std::size_t>(bytes.size(), 16 * 1024);
      const auto put = tls_->session->write(bytes.data(), chunk);
      if (put.what == net::tls_session::status::done) {
        bytes.remove_prefix(chunk);
        continue;
      }
      if ((put.what != net::tls_session::status::want_read &&
           put.what != net::tls_session::status::want_write) ||
          !wait_for(socket_.get(), put.what, deadline))
        return false;
    }
    return true;
  }
  while (!bytes.empty()) {
    const auto sent = ::send(socket_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

void raw_client::send(const proto::client_message& message, call_site where) {
  if (!send_bytes(proto::encode_frame(message)))
    fail_at(where, "raw client: the registry closed the connection");
}

void raw_client::send_to_peer(const proto::server_message& message, call_site where) {
  if (!send_bytes(proto::encode_frame(message)))
    fail_at(where, "fake registry: the peer closed the connection");
}

void raw_client::send_p2p(const proto::p2p_message& message, call_site where) {
  if (!send_bytes(proto::encode_frame(message)))
    fail_at(where, "private chat: the peer closed the connection");
}

std::optional<proto::client_message> raw_client::receive_from_peer(milliseconds timeout,
                                                                   call_site where) {
  auto body = receive_body(timeout);
  if (!body) return std::nullopt;
  auto decoded = proto::decode_client(*body);
  if (!decoded.message) fail_at(where, "fake registry: undecodable frame: " + decoded.error);
  return std::move(decoded.message);
}

std::uint16_t raw_client::welcome_peer(child_process& peer, std::string_view user,
                                       call_site where) {
  expect_from_peer<proto::client_hello>(default_timeout, where);
  send_to_peer(proto::server_hello{}, where);
  // The peer announces its private-chat port before it logs in.
  const auto port = expect_from_peer<proto::private_listen>(default_timeout, where).port;
  peer.expect(text::username_prompt, default_timeout, where);
  peer.send_line(user, where);
  if (expect_from_peer<proto::login_name>(default_timeout, where).name.value != user)
    fail_at(where, "fake registry: the peer sent another user name");
  send_to_peer(proto::login_reply{proto::login_result::ask_password}, where);
  peer.expect(text::password_prompt, default_timeout, where);
  peer.send_line("any-password", where);
  expect_from_peer<proto::login_password>(default_timeout, where);
  send_to_peer(proto::login_reply{proto::login_result::welcome}, where);
  // No stored messages: the peer may go on with what is typed.
  send_to_peer(proto::stored_end{}, where);
  peer.expect_line(text::welcome, default_timeout, where);
  return port;
}

std::optional<proto::p2p_message> raw_client::receive_p2p(milliseconds timeout, call_site where) {
  auto body = receive_body(timeout);
  if (!body) return std::nullopt;
  auto decoded = proto::decode_p2p(*body);
  if (!decoded.message) fail_at(where, "private chat: undecodable frame: " + decoded.error);
  return std::move(decoded.message);
}

bool raw_client::read_exactly(char* data, std::size_t size, steady::time_point deadline) {
  while (size > 0) {
    const auto got = read_some(data, size, deadline);
    if (got <= 0) return false;
    data += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

std::optional<proto::server_message> raw_client::receive(milliseconds timeout, call_site where) {
  const auto deadline = steady::now() + timeout;
  unsigned char header[proto::frame_header_bytes];
  if (!read_exactly(reinterpret_cast<char*>(header), sizeof header, deadline)) return std::nullopt;
  const auto length = proto::read_frame_length(header);
  if (length > proto::max_frame_body)
    fail_at(where, "raw client: the registry sent a frame of " + std::to_string(length) + " bytes");
  std::string body(length, '\0');
  if (!read_exactly(body.data(), body.size(), deadline)) return std::nullopt;
  auto decoded = proto::decode_server(body);
  if (!decoded.message) fail_at(where, "raw client: undecodable frame: " + decoded.error);
  return std::move(decoded.message);
}

void raw_client::log_in(std::string_view user, std::string_view password, call_site where) {
  send(proto::client_hello{proto::protocol_version, {"parley-e2e"}}, where);
  send(proto::login_name{{std::string(user)}}, where);
  if (expect<proto::login_reply>(default_timeout, where).result !=
      proto::login_result::ask_password)
    fail_at(where, "raw client: expected the password question for " + std::string(user));
  send(proto::login_password{{std::string(password)}}, where);
  if (expect<proto::login_reply>(default_timeout, where).result != proto::login_result::welcome)
    fail_at(where, "raw client: expected the welcome for " + std::string(user));
}

std::optional<std::string> raw_client::receive_body(milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  unsigned char header[proto::frame_header_bytes];
  if (!read_exactly(reinterpret_cast<char*>(header), sizeof header, deadline)) return std::nullopt;
  const auto length = proto::read_frame_length(header);
  if (length > proto::max_frame_body) return std::nullopt;
  std::string body(length, '\0');
  if (!read_exactly(body.data(), body.size(), deadline)) return std::nullopt;
  return body;
}

bool raw_client::wait_closed(milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  char buffer[4096];
  while (true) {
    const auto got = read_some(buffer, sizeof buffer, deadline);
    if (got < 0) return false;
    // End of stream, or a reset: either way the registry closed it.
    if (got == 0) return true;
  }
}

// ------------------------------------------------------------------------- listener

listener::listener() : socket_(tcp_socket()) {
  auto address = loopback(0);
  if (::bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(socket_.get(), SOMAXCONN) != 0)
    throw std::runtime_error("listen failed: " + std::string(strerror(errno)));
  socklen_t length = sizeof address;
  ::getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
}

raw_client listener::accept(milliseconds timeout, call_site where) {
  pollfd ready{socket_.get(), POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(timeout.count())) <= 0)
    fail_at(where, "listener: no connection within " + std::to_string(timeout.count()) + " ms");
  unique_fd connection(::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!connection) fail_at(where, "listener: accept failed: " + std::string(strerror(errno)));
  return raw_client(std::move(connection));
}

}  // namespace parley::e2e

doctest::String doctest::StringMaker<std::vector<std::string>>::convert(
    const std::vector<std::string>& lines) {
  std::string out = "{";
  for (const auto& line : lines) out += "\n  \"" + line + "\"";
  out += lines.empty() ? "}" : "\n}";
  return out.c_str();
}

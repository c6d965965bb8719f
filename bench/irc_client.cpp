#include "bench/irc_client.hpp"

namespace parley::bench {

namespace {
// A server sends no line longer than this; a stream without a line end by then is not IRC.
constexpr std::size_t max_unterminated_bytes = 16 * max_irc_line_bytes;

constexpr std::string_view rpl_welcome = "001";
constexpr std::string_view err_nomotd = "422";  // no message of the day: harmless
constexpr std::string_view err_erroneusnickname = "432";
constexpr std::string_view err_nicknameinuse = "433";

bool is_error_numeric(std::string_view command) {
  return !command.empty() && (command.front() == '4' || command.front() == '5');
}
}  // namespace

void irc_client::start(const asio::ip::tcp::endpoint& server, std::string nick, bool join_channel) {
  nick_ = std::move(nick);
  join_channel_ = join_channel;
  state_ = state::connecting;
  stream_.connect(server, std::nullopt, /*tls=*/true);
}

void irc_client::on_connected() {
  state_ = state::registering;
  auto& out = stream_.out();
  out.append("NICK ").append(nick_).append("\r\n");
  out.append("USER ").append(nick_).append(" 0 * :").append(nick_).append("\r\n");
}

void irc_client::privmsg(std::string_view target, std::string_view text) {
  if (!stream_.is_open()) return;
  stream_.out().append("PRIVMSG ").append(target).append(" :").append(text).append("\r\n");
}

void irc_client::send_direct(std::string_view to, std::string_view text) { privmsg(to, text); }

void irc_client::send_broadcast(std::string_view text) { privmsg(irc_channel, text); }

void irc_client::close() {
  state_ = state::done;
  stream_.close();
}

void irc_client::fail(std::string_view why) {
  state_ = state::done;
  stream_.close();
  events_.on_lost(user_, why);
}

void irc_client::on_closed(std::string_view why) {
  if (state_ == state::done) return;
  state_ = state::done;
  events_.on_lost(user_, why);
}

std::size_t irc_client::on_bytes(std::string_view data) {
  const std::size_t total = data.size();
  while (const auto text = take_irc_line(data)) {
    if (const auto line = parse_irc_line(*text)) on_line(*line);
    if (!stream_.is_open()) return total - data.size();
  }
  if (data.size() > max_unterminated_bytes) fail("a line longer than any IRC server sends");
  return total - data.size();
}

void irc_client::on_line(const irc_line& line) {
  if (line.command == "PING") {
    append_pong(stream_.out(), line.last());
    return;
  }
  if (line.command == "PRIVMSG") {
    const auto target = line.param(0);
    const auto kind =
        !target.empty() && target.front() == '#' ? message_kind::broadcast : message_kind::direct;
    events_.on_message(user_, line.nick, line.last(), kind);
    return;
  }
  if (line.command == "ERROR") return fail("server closed the link: " + std::string(line.last()));
  if (state_ == state::registering) {
    if (line.command == rpl_welcome) {
      if (!join_channel_) {
        state_ = state::ready;
        events_.on_ready(user_);
        return;
      }
      state_ = state::joining;
      stream_.out().append("JOIN ").append(irc_channel).append("\r\n");
      return;
    }
    if (line.command == err_nicknameinuse || line.command == err_erroneusnickname)
      return fail("nick " + nick_ + " refused: " + std::string(line.last()));
  }
  // Our own JOIN echoed back: we are in the channel.
  if (state_ == state::joining && line.command == "JOIN" && line.nick == nick_) {
    state_ = state::ready;
    events_.on_ready(user_);
    return;
  }
  if (line.is_numeric() && is_error_numeric(line.command) && line.command != err_nomotd)
    events_.on_error(user_, std::string(line.command) + " " + std::string(line.last()));
}

}  // namespace parley::bench

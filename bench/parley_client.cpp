#include "bench/parley_client.hpp"

#include "bench/wire.hpp"
#include "shared/proto/codec.hpp"

#include <string>

namespace parley::bench {

namespace {
constexpr std::string_view agent = "parley-bench/0.1";

std::string describe(proto::login_result result) {
  switch (result) {
    case proto::login_result::already_logged_in: return "already logged in";
    case proto::login_result::invalid_password: return "invalid password";
    case proto::login_result::invalid_now_locked: return "invalid password, account now locked";
    case proto::login_result::account_locked: return "account locked";
    case proto::login_result::invalid_new_password: return "password refused as a new password";
    case proto::login_result::too_many_login_attempts:
      return "too many failed logins from this address (--login-failures)";
    case proto::login_result::new_accounts_refused:
      return "new accounts refused (--signups, --max-accounts)";
    case proto::login_result::registry_busy: return "password queue full (--hash-queue)";
    default: return "unexpected login reply " + std::to_string(static_cast<int>(result));
  }
}
}  // namespace

void parley_client::start(const asio::ip::tcp::endpoint& registry, std::string name,
                          std::string password, std::optional<std::uint16_t> private_port,
                          const std::optional<asio::ip::address>& from) {
  name_ = std::move(name);
  password_ = std::move(password);
  private_port_ = private_port;
  state_ = state::connecting;
  stream_.connect(registry, from, /*tls=*/true);
}

void parley_client::on_connected() {
  state_ = state::logging_in;
  // The whole opening in one write: the registry handles frames in order, so the name need not
  // wait for the server's hello.
  send(proto::client_hello{proto::protocol_version, std::string(agent)});
  if (private_port_) send(proto::private_listen{*private_port_});
  send(proto::login_name{name_});
}

void parley_client::send(const proto::client_message& message) {
  if (!stream_.is_open()) return;
  stream_.out() += proto::encode_frame(message);
}

void parley_client::send_direct(std::string_view to, std::string_view text) {
  if (stream_.is_open()) wire::append_direct_message(stream_.out(), to, text);
}

void parley_client::send_broadcast(std::string_view text) {
  if (stream_.is_open()) wire::append_broadcast_message(stream_.out(), text);
}

void parley_client::logout() {
  if (state_ != state::ready) return;
  state_ = state::logging_out;
  send(proto::logout_request{});
}

void parley_client::close() {
  state_ = state::done;
  stream_.close();
}

void parley_client::fail(std::string_view why) {
  state_ = state::done;
  stream_.close();
  events_.on_lost(user_, why);
}

void parley_client::on_closed(std::string_view why) {
  if (state_ == state::done) return;
  state_ = state::done;
  events_.on_lost(user_, why);
}

std::size_t parley_client::on_bytes(std::string_view data) {
  // The bound is checked before anything waits for the body, as every Parley reader does.
  std::optional<std::uint32_t> oversized;
  const auto consumed = wire::split_frames(
      data,
      [this](std::string_view body) {
        on_frame(body);
        return stream_.is_open();
      },
      oversized);
  if (oversized) fail("frame over the bound: " + std::to_string(*oversized) + " bytes");
  return consumed;
}

void parley_client::on_frame(std::string_view body) {
  // The hot path: deliveries, replies and presence, read in place.
  if (const auto tag = wire::peek_tag(body)) {
    if (*tag == wire::presence_tag || *tag == wire::presence_batch_tag) return;
    if (*tag == wire::delivery_tag) {
      if (const auto d = wire::peek_delivery(body)) {
        // Stored while the user was away: left over from an earlier run, not part of this one.
        if (d->kind == proto::delivery_kind::offline) return;
        const auto kind = d->kind == proto::delivery_kind::broadcast ? message_kind::broadcast
                                                                     : message_kind::direct;
        events_.on_message(user_, d->from, d->text, kind);
        return;
      }
    }
    if (*tag == wire::command_reply_tag) {
      if (const auto r = wire::peek_command_reply(body)) {
        events_.on_reply(user_, r->result);
        return;
      }
    }
  }
  auto decoded = proto::decode_server(body);
  if (!decoded.message) return fail("undecodable frame from the registry: " + decoded.error);
  on_message(*decoded.message);
}

void parley_client::on_message(const proto::server_message& message) {
  if (const auto* hello = std::get_if<proto::server_hello>(&message)) {
    if (hello->version != proto::protocol_version)
      fail("the registry speaks protocol version " + std::to_string(hello->version));
  } else if (const auto* reply = std::get_if<proto::login_reply>(&message)) {
    on_login_reply(reply->result);
  } else if (const auto* d = std::get_if<proto::delivery>(&message)) {
    if (d->kind == proto::delivery_kind::offline) return;
    const auto kind =
        d->kind == proto::delivery_kind::broadcast ? message_kind::broadcast : message_kind::direct;
    events_.on_message(user_, d->from.value, d->text.value, kind);
  } else if (const auto* r = std::get_if<proto::command_reply>(&message)) {
    events_.on_reply(user_, r->result);
  } else if (const auto* end = std::get_if<proto::session_end>(&message)) {
    if (state_ == state::logging_out && end->reason == proto::end_reason::logged_out) {
      state_ = state::done;
      stream_.close();
      events_.on_logged_out(user_);
      return;
    }
    fail("session ended by the registry, reason " + std::to_string(static_cast<int>(end->reason)));
  } else if (std::holds_alternative<proto::private_offer>(message) ||
             std::holds_alternative<proto::private_expect>(message) ||
             std::holds_alternative<proto::private_expect_from>(message) ||
             std::holds_alternative<proto::private_granted>(message) ||
             std::holds_alternative<proto::private_declined>(message) ||
             std::holds_alternative<proto::private_expect_keyed>(message) ||
             std::holds_alternative<proto::private_granted_keyed>(message)) {
    events_.on_private(user_, message);
  }
  // presence (decoded the long way) and user_list need nothing.
}

void parley_client::on_login_reply(proto::login_result result) {
  if (state_ != state::logging_in) return fail("login reply after login");
  switch (result) {
    case proto::login_result::ask_password:
    case proto::login_result::ask_new_password: send(proto::login_password{password_}); return;
    case proto::login_result::welcome:
      state_ = state::ready;
      events_.on_ready(user_);
      return;
    default: fail("login as " + name_ + " refused: " + describe(result));
  }
}

}  // namespace parley::bench

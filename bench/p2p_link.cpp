#include "bench/p2p_link.hpp"

#include "bench/wire.hpp"
#include "shared/proto/codec.hpp"

namespace parley::bench {

void p2p_link::dial(std::size_t user, const asio::ip::tcp::endpoint& to, std::string from,
                    std::string token) {
  user_ = user;
  from_ = std::move(from);
  token_ = std::move(token);
  state_ = state::dialing;
  stream_.connect(to);
}

void p2p_link::on_connected() {
  state_ = state::awaiting_accept;
  stream_.out() += proto::encode_frame(proto::p2p_hello{proto::protocol_version, from_, token_});
}

void p2p_link::adopt(asio::ip::tcp::socket socket) {
  state_ = state::awaiting_hello;
  stream_.adopt(std::move(socket));
}

void p2p_link::accept(std::size_t user) {
  if (state_ != state::awaiting_match) return;
  user_ = user;
  state_ = state::open;
  stream_.out() += proto::encode_frame(proto::p2p_accept{});
  events_.on_ready(user_);
}

void p2p_link::send_direct(std::string_view, std::string_view text) {
  if (state_ == state::open) wire::append_p2p_text(stream_.out(), text);
}

void p2p_link::send_broadcast(std::string_view) {
  // A private chat has one other side; the runner never broadcasts on it.
}

void p2p_link::close() {
  state_ = state::done;
  stream_.close();
}

void p2p_link::fail(std::string_view why) {
  state_ = state::done;
  stream_.close();
  events_.on_lost(user_, why);
}

void p2p_link::on_closed(std::string_view why) {
  if (state_ == state::done) return;
  state_ = state::done;
  events_.on_lost(user_, why);
}

std::size_t p2p_link::on_bytes(std::string_view data) {
  std::optional<std::uint32_t> oversized;
  const auto consumed = wire::split_frames(
      data,
      [this](std::string_view body) {
        on_frame(body);
        return stream_.is_open();
      },
      oversized);
  if (oversized) fail("private chat frame over the bound");
  return consumed;
}

void p2p_link::on_frame(std::string_view body) {
  if (state_ == state::open) {
    if (const auto text = wire::peek_p2p_text(body)) {
      events_.on_message(user_, {}, *text, message_kind::private_text);
      return;
    }
  }
  auto decoded = proto::decode_p2p(body);
  if (!decoded.message) return fail("undecodable private chat frame: " + decoded.error);
  const auto& message = *decoded.message;
  if (state_ == state::awaiting_hello) {
    const auto* hello = std::get_if<proto::p2p_hello>(&message);
    if (!hello) return fail("private chat opened without a hello");
    state_ = state::awaiting_match;
    events_.on_p2p_hello(*this, hello->from.value, hello->token.value);
  } else if (state_ == state::awaiting_accept) {
    if (!std::holds_alternative<proto::p2p_accept>(message))
      return fail("private chat not accepted");
    state_ = state::open;
    events_.on_ready(user_);
  } else if (state_ == state::open) {
    if (const auto* text = std::get_if<proto::p2p_text>(&message)) {
      events_.on_message(user_, {}, text->text.value, message_kind::private_text);
    } else if (std::holds_alternative<proto::p2p_stop>(message)) {
      fail("the other side stopped the private chat");
    } else {
      events_.on_error(user_, "unexpected private chat message");
    }
  } else {
    events_.on_error(user_, "private chat message before the handshake finished");
  }
}

}  // namespace parley::bench

#include "bench/p2p_link.hpp"

#include "bench/wire.hpp"
#include "shared/proto/codec.hpp"
#include "shared/proto/frame.hpp"

namespace parley::bench {

namespace crypto = peer::crypto;

p2p_link::~p2p_link() = default;

void p2p_link::dial(std::size_t user, const asio::ip::tcp::endpoint& to, p2p_secrets secrets) {
  user_ = user;
  requester_ = crypto::requester_handshake::start(
      *secrets.own, secrets.peer_key, {secrets.requester, secrets.target, secrets.token});
  if (!requester_) return fail("private chat: the target's key is unusable");
  state_ = state::dialing;
  stream_.connect(to);
}

void p2p_link::on_connected() {
  state_ = state::awaiting_challenge;
  const auto opening = requester_->opening();
  send_frame(proto::p2p_open{crypto::handshake_version, opening.requester_key, opening.commitment});
}

void p2p_link::adopt(asio::ip::tcp::socket socket) {
  state_ = state::awaiting_open;
  stream_.adopt(std::move(socket));
}

void p2p_link::answer(std::size_t user, const p2p_secrets& secrets) {
  if (state_ != state::awaiting_match || !opening_) return;
  user_ = user;
  target_ = crypto::target_handshake::start(*secrets.own, secrets.peer_key,
                                            {secrets.requester, secrets.target, secrets.token});
  const auto challenge =
      target_ ? target_->on_open({opening_->requester_key, opening_->commitment}) : std::nullopt;
  if (!challenge) return fail("private chat: the open does not match the expectation");
  state_ = state::awaiting_proof;
  send_frame(proto::p2p_challenge{challenge->target_nonce, challenge->target_proof});
}

void p2p_link::send_frame(const proto::p2p_message& message) {
  stream_.out() += proto::encode_frame(message);
}

void p2p_link::send_direct(std::string_view, std::string_view text) {
  if (state_ != state::open) return;
  // As the peer does: the text's encoding, sealed as the next message of this side's stream.
  plain_.clear();
  wire::append_p2p_text(plain_, text);
  const auto sealed =
      chat_.sealer->seal(std::string_view(plain_).substr(proto::frame_header_bytes));
  auto& out = stream_.out();
  const auto at = out.size();
  out.resize(at + proto::frame_header_bytes);
  proto::write_frame_length(out.data() + at, static_cast<std::uint32_t>(sealed.size()));
  out += sealed;
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
  if (state_ != state::open) return on_handshake_frame(body);
  const auto opened = chat_.opener->open(body);
  if (!opened) return fail("a sealed private chat frame did not open");
  if (opened->final) return fail("the other side stopped the private chat");
  if (const auto text = wire::peek_p2p_text(opened->plain)) {
    events_.on_message(user_, {}, *text, message_kind::private_text);
    return;
  }
  events_.on_error(user_, "unexpected private chat message");
}

void p2p_link::on_handshake_frame(std::string_view body) {
  auto decoded = proto::decode_p2p(body);
  if (!decoded.message) return fail("undecodable private chat frame: " + decoded.error);
  const auto& message = *decoded.message;
  switch (state_) {
    case state::awaiting_open: {
      const auto* opening = std::get_if<proto::p2p_open>(&message);
      if (!opening) return fail("private chat opened without a p2p_open");
      opening_ = *opening;
      state_ = state::awaiting_match;
      return events_.on_p2p_open(*this, opening->requester_key);
    }
    case state::awaiting_challenge: {
      const auto* c = std::get_if<proto::p2p_challenge>(&message);
      const auto proof =
          c ? requester_->on_challenge({c->target_nonce, c->target_proof}) : std::nullopt;
      if (!proof) return fail("private chat: no valid p2p_challenge");
      state_ = state::awaiting_ready;
      return send_frame(
          proto::p2p_proof_message{proof->requester_nonce, proof->header, proof->requester_proof});
    }
    case state::awaiting_ready: {
      const auto* r = std::get_if<proto::p2p_ready>(&message);
      auto chat = r ? requester_->on_ready({r->header, r->target_confirm}) : std::nullopt;
      if (!chat) return fail("private chat: no valid p2p_ready");
      requester_.reset();
      chat_ = std::move(*chat);
      state_ = state::open;
      return events_.on_ready(user_);
    }
    case state::awaiting_proof: {
      const auto* p = std::get_if<proto::p2p_proof_message>(&message);
      auto accepted =
          p ? target_->on_proof({p->requester_nonce, p->header, p->requester_proof}) : std::nullopt;
      if (!accepted) return fail("private chat: no valid p2p_proof");
      target_.reset();
      send_frame(proto::p2p_ready{accepted->ready.header, accepted->ready.target_confirm});
      chat_ = std::move(accepted->chat);
      state_ = state::open;
      return events_.on_ready(user_);
    }
    default: events_.on_error(user_, "private chat message before the handshake finished");
  }
}

}  // namespace parley::bench

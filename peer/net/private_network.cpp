#include "peer/net/private_network.hpp"

#include "peer/core/texts.hpp"
#include "peer/crypto/chat_seal.hpp"
#include "shared/proto/codec.hpp"
#include "shared/proto/frame.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace parley::peer {
namespace {

// Frame bounds (docs/PROTOCOL.md 8): a handshake message is at most 93 bytes of body, a sealed
// text at most its 4,096 bytes, its encoding's 13 and the seal's 17.
constexpr std::size_t max_handshake_frame_body = 128;
constexpr std::size_t max_sealed_frame_body = proto::max_text_bytes + 256;

// After a failed accept (out of descriptors, say) the listener pauses this long rather than spin.
constexpr std::chrono::milliseconds accept_retry_delay{100};

// The address as the registry writes it (registry/net/server.cpp): an IPv4 client reaching an
// IPv6 socket is its IPv4 address, so that both sides name one requester alike.
std::string source_address(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  return address.to_string();
}

// A frame whose body is `message` sealed as the next of `sealer`'s stream; a stop is the last.
std::string sealed_frame(crypto::chat_sealer& sealer, const proto::p2p_message& message) {
  const auto plain = proto::encode_frame(message);
  const auto body = sealer.seal(std::string_view(plain).substr(proto::frame_header_bytes),
                                std::holds_alternative<proto::p2p_stop>(message));
  std::string frame(proto::frame_header_bytes, '\0');
  proto::write_frame_length(frame.data(), static_cast<std::uint32_t>(body.size()));
  return frame + body;
}

template <class T>
const T* as(const proto::decoded<proto::p2p_message>& decoded) {
  return decoded.message ? std::get_if<T>(&*decoded.message) : nullptr;
}

}  // namespace

// One connection on its way to being a chat, or being one.
struct private_network::link {
  enum class stage {
    handshake,   // incoming, before the core's verdict on its p2p_open
    proving,     // incoming, p2p_challenge sent: waiting for p2p_proof
    dialing,     // outgoing, connecting or p2p_open sent: waiting for p2p_challenge
    confirming,  // outgoing, p2p_proof sent: waiting for p2p_ready
    open,        // a chat
    ended,       // closed, or handed over to a flushing close: nothing more is reported
  };

  explicit link(asio::any_io_executor executor) : socket(executor), deadline(executor) {}

  stage state = stage::handshake;
  handshake_admission::ticket ticket = 0;  // incoming: its place among the pending handshakes
  std::string address;                     // incoming: where it came from
  std::string user;                        // the other side, once known
  asio::ip::tcp::socket socket;  // outgoing, while connecting: then the connection owns it
  std::shared_ptr<net::framed_connection> connection;
  asio::steady_timer deadline;                       // the handshake's, or the dial's
  std::optional<proto::p2p_open> opening;            // incoming: the open awaiting its expectation
  proto::chat_public_key requester_key{};            // incoming, once answered: whose expectation
  std::unique_ptr<crypto::target_handshake> target;  // incoming, proving
  std::unique_ptr<crypto::requester_handshake> requester;  // outgoing, until open
  std::string open_frame;                                  // outgoing: sent once connected
  crypto::sealed_chat chat;                                // open: the two streams
};

private_network::private_network(asio::any_io_executor executor, handshake_limits limits)
    : executor_(executor), acceptor_(executor), admission_(limits) {}

private_network::~private_network() {
  alive_.reset();
  close_all();
}

// ---------------------------------------------------------------- listener

std::error_code private_network::listen(const asio::ip::address& address) {
  std::error_code ec;
  const asio::ip::tcp::endpoint endpoint(address, 0);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) port_ = acceptor_.local_endpoint(ec).port();
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    port_ = 0;
    return ec;
  }
  asio::co_spawn(executor_, accept_loop(), asio::detached);
  return {};
}

asio::awaitable<void> private_network::accept_loop() {
  std::weak_ptr<const bool> alive = alive_;
  asio::steady_timer pause(executor_);
  for (;;) {
    std::error_code ec;
    auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (alive.expired() || closed_ || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      pause.expires_after(accept_retry_delay);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (alive.expired() || closed_) co_return;
      continue;
    }
    start_handshake(std::move(socket));
  }
}

void private_network::start_handshake(asio::ip::tcp::socket socket) {
  std::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  // Reset before it was looked at: nothing to judge.
  if (ec) {
    socket.close(ec);
    return;
  }
  const std::string address = source_address(remote.address());
  const bool expected = handlers_.expects && handlers_.expects(address);
  // Decided before the connection gets a buffer or a timer: a flood of connections that say
  // nothing costs at most the bounds' worth of them.
  const auto verdict = admission_.admit(address, expected);
  if (!verdict.admitted) {
    socket.close(ec);
    return report_refusal(address, verdict.refused);
  }
  if (verdict.evicted) {
    if (const auto victim = handshakes_.find(*verdict.evicted); victim != handshakes_.end()) {
      const auto evicted = victim->second;
      drop_handshake(evicted);
      report_eviction(evicted->address, address);
    }
  }
  auto incoming = std::make_shared<link>(executor_);
  incoming->ticket = *verdict.admitted;
  incoming->address = address;
  incoming->connection = net::framed_connection::create(std::move(socket));
  incoming->connection->set_max_frame_body(max_handshake_frame_body);
  handshakes_.emplace(incoming->ticket, incoming);
  start_connection(incoming);
  arm_deadline(incoming, private_handshake_timeout);
}

void private_network::drop_handshake(const link_ptr& incoming) {
  handshakes_.erase(incoming->ticket);
  admission_.release(incoming->ticket);
  incoming->state = link::stage::ended;
  incoming->deadline.cancel();
  incoming->connection->close();
}

void private_network::report_refusal(const std::string& address, handshake_admission::refusal why) {
  const bool per_address = why == handshake_admission::refusal::per_address;
  auto& limiter = per_address ? per_address_notices_ : total_notices_;
  if (!handlers_.on_notice || !limiter.admit(std::chrono::steady_clock::now())) return;
  handlers_.on_notice(texts::handshake_refused(
      address, per_address ? admission_.pending_from(address) : admission_.pending(), per_address,
      limiter.suffix()));
}

void private_network::report_eviction(const std::string& evicted, const std::string& expected) {
  if (!handlers_.on_notice || !eviction_notices_.admit(std::chrono::steady_clock::now())) return;
  handlers_.on_notice(texts::handshake_evicted(evicted, expected, eviction_notices_.suffix()));
}

void private_network::judge(const link_ptr& incoming) {
  if (incoming->state != link::stage::handshake || !incoming->opening || !handlers_.on_open) return;
  const auto judgement = handlers_.on_open(*incoming->opening);
  switch (judgement.verdict) {
    case open_verdict::unknown: return;
    case open_verdict::refused: return drop_handshake(incoming);
    case open_verdict::answer: break;
  }
  const auto& secrets = judgement.expected;
  incoming->target = crypto::target_handshake::start(
      *secrets.own, secrets.peer_key, {secrets.requester, secrets.target, secrets.token});
  const auto challenge = incoming->target
                             ? incoming->target->on_open({incoming->opening->requester_key,
                                                          incoming->opening->commitment})
                             : std::nullopt;
  if (!challenge) return drop_handshake(incoming);
  incoming->state = link::stage::proving;
  incoming->user = secrets.requester;
  incoming->requester_key = incoming->opening->requester_key;
  incoming->opening.reset();
  incoming->connection->send(proto::encode_frame(
      proto::p2p_message{proto::p2p_challenge{challenge->target_nonce, challenge->target_proof}}));
}

void private_network::on_proof(const link_ptr& incoming, const proto::p2p_proof_message& m) {
  auto accepted = incoming->target->on_proof({m.requester_nonce, m.header, m.requester_proof});
  incoming->target.reset();
  if (!accepted || !handlers_.on_proven ||
      !handlers_.on_proven(incoming->user, incoming->requester_key, accepted->chat.safety_number))
    return drop_handshake(incoming);
  // The core may have ended the program meanwhile (its handler applies effects).
  if (incoming->state != link::stage::proving) return;
  handshakes_.erase(incoming->ticket);
  admission_.release(incoming->ticket);
  incoming->chat = std::move(accepted->chat);
  // The last frame in clear; every later one is sealed.
  incoming->connection->send(proto::encode_frame(proto::p2p_message{
      proto::p2p_ready{accepted->ready.header, accepted->ready.target_confirm}}));
  make_chat(incoming);
}

void private_network::make_chat(const link_ptr& l) {
  l->deadline.cancel();
  l->connection->set_max_frame_body(max_sealed_frame_body);
  l->state = link::stage::open;
  // The core had no chat with this user, so an entry left here is a connection on its way out.
  if (auto old = chats_.find(l->user); old != chats_.end()) {
    old->second->state = link::stage::ended;
    old->second->connection->close();
  }
  chats_[l->user] = l;
}

void private_network::retry_waiting() {
  // Judging changes the set; go over a copy.
  std::vector<link_ptr> waiting;
  waiting.reserve(handshakes_.size());
  for (const auto& [ticket, incoming] : handshakes_)
    if (incoming->opening) waiting.push_back(incoming);
  for (const auto& incoming : waiting) judge(incoming);
}

// ---------------------------------------------------------------- dialer

void private_network::dial(const dial_chat& request) {
  // The core dials a user only when no dial to them is on its way; a chat connection left
  // here is one the core has already ended.
  if (dials_.contains(request.user)) return;
  close(request.user, false);
  auto outgoing = std::make_shared<link>(executor_);
  outgoing->state = link::stage::dialing;
  outgoing->user = request.user;
  std::error_code ec;
  const auto address = asio::ip::make_address(request.address, ec);
  const auto& secrets = request.secrets;
  if (!ec && !closed_ && secrets.own)
    outgoing->requester = crypto::requester_handshake::start(
        *secrets.own, secrets.peer_key, {secrets.requester, secrets.target, secrets.token});
  if (ec || closed_ || !outgoing->requester) {
    // Reported from the io loop, never from inside the caller (it may be applying effects).
    std::weak_ptr<const bool> alive = alive_;
    asio::post(executor_, [this, alive, user = request.user] {
      if (!alive.expired() && handlers_.on_dialed) handlers_.on_dialed(user, false, {});
    });
    return;
  }
  const auto opening = outgoing->requester->opening();
  outgoing->open_frame = proto::encode_frame(proto::p2p_message{
      proto::p2p_open{crypto::handshake_version, opening.requester_key, opening.commitment}});
  dials_[request.user] = outgoing;
  arm_deadline(outgoing, private_connect_timeout);
  std::weak_ptr<const bool> alive = alive_;
  std::weak_ptr<link> weak = outgoing;
  outgoing->socket.async_connect(asio::ip::tcp::endpoint(address, request.port),
                                 [this, alive, weak](std::error_code connect_error) {
                                   if (alive.expired()) return;
                                   if (auto l = weak.lock()) on_connected(l, connect_error);
                                 });
}

void private_network::on_connected(const link_ptr& outgoing, std::error_code ec) {
  // Timed out (or closed) meanwhile: already reported.
  if (outgoing->state != link::stage::dialing) return;
  if (ec) return dial_failed(outgoing);
  outgoing->connection = net::framed_connection::create(std::move(outgoing->socket));
  outgoing->connection->set_max_frame_body(max_handshake_frame_body);
  start_connection(outgoing);
  outgoing->connection->send(std::move(outgoing->open_frame));
}

void private_network::dial_failed(const link_ptr& outgoing) {
  if (outgoing->state != link::stage::dialing && outgoing->state != link::stage::confirming) return;
  outgoing->state = link::stage::ended;
  if (auto entry = dials_.find(outgoing->user); entry != dials_.end() && entry->second == outgoing)
    dials_.erase(entry);
  outgoing->deadline.cancel();
  std::error_code ignored;
  if (outgoing->connection)
    outgoing->connection->close();
  else
    outgoing->socket.close(ignored);
  outgoing->requester.reset();
  if (handlers_.on_dialed) handlers_.on_dialed(outgoing->user, false, {});
}

void private_network::on_ready(const link_ptr& outgoing, const proto::p2p_ready& m) {
  auto chat = outgoing->requester->on_ready({m.header, m.target_confirm});
  outgoing->requester.reset();
  if (!chat) return dial_failed(outgoing);
  dials_.erase(outgoing->user);
  outgoing->chat = std::move(*chat);
  make_chat(outgoing);
  if (handlers_.on_dialed) handlers_.on_dialed(outgoing->user, true, outgoing->chat.safety_number);
}

// ---------------------------------------------------------------- both directions

void private_network::start_connection(const link_ptr& l) {
  // The connection's handlers may run after this object or the link is gone: they check.
  std::weak_ptr<const bool> alive = alive_;
  std::weak_ptr<link> weak = l;
  l->connection->start(
      [this, alive, weak](std::string_view body) {
        if (alive.expired()) return;
        if (auto self = weak.lock()) on_frame(self, body);
      },
      [this, alive, weak](net::close_cause, const std::string&) {
        if (alive.expired()) return;
        if (auto self = weak.lock()) on_link_closed(self);
      });
}

void private_network::arm_deadline(const link_ptr& l, std::chrono::steady_clock::duration after) {
  std::weak_ptr<const bool> alive = alive_;
  std::weak_ptr<link> weak = l;
  l->deadline.expires_after(after);
  l->deadline.async_wait([this, alive, weak](std::error_code ec) {
    if (ec || alive.expired()) return;
    const auto self = weak.lock();
    if (!self) return;
    if (self->state == link::stage::dialing || self->state == link::stage::confirming)
      return dial_failed(self);
    if (self->state != link::stage::handshake && self->state != link::stage::proving) return;
    // No open, one whose expectation never turned up, or no proof: it is not let in.
    drop_handshake(self);
  });
}

void private_network::on_frame(const link_ptr& l, std::string_view body) {
  if (l->state == link::stage::open) return on_sealed_frame(l, body);
  if (l->state != link::stage::ended) on_handshake_frame(l, body);
}

void private_network::on_handshake_frame(const link_ptr& l, std::string_view body) {
  const auto decoded = proto::decode_p2p(body);
  switch (l->state) {
    case link::stage::handshake:
      // Exactly one frame, an open, and then silence until the verdict.
      if (const auto* opening = as<proto::p2p_open>(decoded); opening && !l->opening) {
        l->opening = *opening;
        return judge(l);
      }
      return drop_handshake(l);
    case link::stage::proving:
      if (const auto* proof = as<proto::p2p_proof_message>(decoded)) return on_proof(l, *proof);
      return drop_handshake(l);
    case link::stage::dialing:
      if (const auto* challenge = as<proto::p2p_challenge>(decoded)) {
        const auto proof =
            l->requester->on_challenge({challenge->target_nonce, challenge->target_proof});
        if (!proof) return dial_failed(l);
        l->state = link::stage::confirming;
        l->connection->send(proto::encode_frame(proto::p2p_message{proto::p2p_proof_message{
            proof->requester_nonce, proof->header, proof->requester_proof}}));
        return;
      }
      return dial_failed(l);
    case link::stage::confirming:
      if (const auto* ready = as<proto::p2p_ready>(decoded)) return on_ready(l, *ready);
      return dial_failed(l);
    case link::stage::open:
    case link::stage::ended: return;
  }
}

void private_network::on_sealed_frame(const link_ptr& l, std::string_view body) {
  // Forged, replayed, reordered, truncated or after the final frame: the stream says no, and
  // nothing of it is shown. The plain text must be a text, or a stop sealed as the last frame.
  const auto opened = l->chat.opener->open(body);
  const auto decoded =
      opened ? proto::decode_p2p(opened->plain) : proto::decoded<proto::p2p_message>{};
  const bool text = as<proto::p2p_text>(decoded) != nullptr;
  const bool stop = as<proto::p2p_stop>(decoded) != nullptr;
  if (!opened || !(text || stop) || stop != opened->final) return end_chat(l);
  if (handlers_.on_message) handlers_.on_message(l->user, *decoded.message);
}

void private_network::end_chat(const link_ptr& l) {
  l->connection->close();
  on_link_closed(l);
}

void private_network::on_link_closed(const link_ptr& l) {
  switch (l->state) {
    case link::stage::handshake:
    case link::stage::proving: return drop_handshake(l);
    case link::stage::dialing:
    case link::stage::confirming: return dial_failed(l);
    case link::stage::open: {
      l->state = link::stage::ended;
      if (auto entry = chats_.find(l->user); entry != chats_.end() && entry->second == l)
        chats_.erase(entry);
      if (handlers_.on_closed) handlers_.on_closed(l->user);
      return;
    }
    case link::stage::ended: return;
  }
}

void private_network::send(const std::string& user, const proto::p2p_message& message) {
  const auto chat = chats_.find(user);
  if (chat == chats_.end()) return;
  // Over the queue's bound the connection drops itself, and its close ends the chat.
  chat->second->connection->send(sealed_frame(*chat->second->chat.sealer, message));
}

void private_network::close(const std::string& user, bool flush) {
  const auto chat = chats_.find(user);
  if (chat == chats_.end()) return;
  const auto l = chat->second;
  chats_.erase(chat);
  l->state = link::stage::ended;
  if (flush)
    l->connection->close_after_flush();
  else
    l->connection->close();
}

void private_network::close_all() {
  if (closed_) return;
  closed_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  const auto end = [&](const link_ptr& l) {
    l->state = link::stage::ended;
    l->deadline.cancel();
    if (l->connection)
      l->connection->close();
    else
      l->socket.close(ignored);
  };
  for (const auto& [ticket, l] : handshakes_) {
    admission_.release(ticket);
    end(l);
  }
  for (const auto& [user, l] : dials_) end(l);
  for (const auto& [user, l] : chats_) end(l);
  handshakes_.clear();
  dials_.clear();
  chats_.clear();
}

}  // namespace parley::peer

// The peer-to-peer side of private chats (SPEC 8, SPEC 10): one listener for chats others start,
// a dialer for chats this user starts, and the open chat connections, each a framed connection.
// Which connection may become a chat is the core's decision (private_chats); this class runs the
// sealed handshake of docs/PROTOCOL.md section 8 (peer/crypto/chat_seal), seals and opens every
// later frame, and keeps the deadlines.
//
// Incoming: a connection must present a p2p_open, and then a p2p_proof that checks out, within
// private_handshake_timeout. The core judges the open by the requester's key: answer (the
// listener sends p2p_challenge, an attempt counted), refused (closed), or unknown (the
// registry's private_expect_keyed may still be on its way on the other TCP link: the open is
// judged again by retry_waiting() until the deadline closes it). After a valid proof the core
// opens the chat and the listener sends p2p_ready. Anything else closes without a word.
// Before a connection gets anything, handshake_admission decides whether it may wait at all
// (SPEC 8.8: bounded per source address and in total, and always room for an address the
// registry named for an expected requester); a bound that bites is told to the user, at most
// once per notice_interval for each kind (a refusal for the bound per address, one for the
// total, an eviction).
// Outgoing: connect, send p2p_open, check p2p_challenge, send p2p_proof, check p2p_ready, all
// within private_connect_timeout, else it failed.
// Open: every frame's body is a secretstream message (one stream per direction) whose plain
// text is an encoded p2p_text, or a p2p_stop sealed as the final one. A frame that does not
// open, or decode, or any frame after the final one, ends the chat like a broken connection.
//
// Everything here runs on the io thread.
#pragma once

#include "peer/core/effects.hpp"
#include "peer/core/handshake_admission.hpp"
#include "peer/core/private_chats.hpp"
// Header-only; the registry's rate limiter for warnings serves the peer's notices as well.
#include "registry/net/log_limiter.hpp"
#include "shared/net/framed_connection.hpp"
#include "shared/proto/messages.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace parley::peer {

// Connecting to the other peer and the whole handshake, together.
inline constexpr std::chrono::seconds private_connect_timeout{5};
// How long an incoming connection has to complete its handshake.
inline constexpr std::chrono::seconds private_handshake_timeout{5};
// How often each kind of handshake notice (a refusal, an eviction) may be shown.
inline constexpr std::chrono::seconds notice_interval{10};

class private_network {
 public:
  struct handlers {
    // The first frame of an incoming connection, decoded and validated.
    std::function<open_judgement(const proto::p2p_open&)> on_open;
    // An incoming handshake succeeded: true when it is now the chat with `user`.
    std::function<bool(const std::string& user, const proto::chat_public_key& requester_key,
                       const std::string& safety)>
        on_proven;
    // A dial_chat ended: its handshake succeeded (the chat is open), or it failed.
    std::function<void(const std::string& user, bool opened, const std::string& safety)> on_dialed;
    // A message on the open chat with `user`.
    std::function<void(const std::string& user, const proto::p2p_message&)> on_message;
    // The open chat with `user` ended by itself (not by close()).
    std::function<void(const std::string& user)> on_closed;
    // Whether the registry named `address` for a requester this user agreed to (SPEC 8.8).
    std::function<bool(const std::string& address)> expects;
    // A line for the user about the listener itself (a bound that bit), already rate-limited.
    std::function<void(const std::string& line)> on_notice;
  };

  private_network(asio::any_io_executor executor, handshake_limits limits);
  ~private_network();
  private_network(const private_network&) = delete;
  private_network& operator=(const private_network&) = delete;

  void set_handlers(handlers callbacks) { handlers_ = std::move(callbacks); }

  // Listens on `address` (the local side of the registry link), on a port the OS picks.
  std::error_code listen(const asio::ip::address& address);
  // The port listened on, 0 when not listening.
  std::uint16_t port() const { return port_; }

  // Starts a dial; its end is reported through on_dialed.
  void dial(const dial_chat& request);
  // Queues a message on the open chat with `user`; nothing if there is none.
  void send(const std::string& user, const proto::p2p_message& message);
  // Ends the chat with `user` (after its queue is flushed, or at once). Not reported.
  void close(const std::string& user, bool flush);
  // Judges again the opens waiting for their expectation (a private_expect_keyed has arrived).
  void retry_waiting();
  // Closes the listener and every connection; nothing more is reported.
  void close_all();

 private:
  struct link;
  using link_ptr = std::shared_ptr<link>;

  asio::awaitable<void> accept_loop();
  void start_handshake(asio::ip::tcp::socket socket);
  // Admission refused, or a pending handshake had to make way: told to the user, rate-limited.
  void report_refusal(const std::string& address, handshake_admission::refusal why);
  void report_eviction(const std::string& evicted, const std::string& expected);
  // Ends an incoming connection before its verdict (refused, timed out, broke, made way).
  void drop_handshake(const link_ptr& incoming);
  void judge(const link_ptr& incoming);
  void on_connected(const link_ptr& outgoing, std::error_code ec);
  void on_handshake_frame(const link_ptr& l, std::string_view body);
  void on_proof(const link_ptr& incoming, const proto::p2p_proof_message& message);
  void on_ready(const link_ptr& outgoing, const proto::p2p_ready& message);
  void on_sealed_frame(const link_ptr& l, std::string_view body);
  // The link is now the open chat with l->user.
  void make_chat(const link_ptr& l);
  void end_chat(const link_ptr& l);
  void start_connection(const link_ptr& l);
  void on_frame(const link_ptr& l, std::string_view body);
  void on_link_closed(const link_ptr& l);
  void dial_failed(const link_ptr& outgoing);
  void arm_deadline(const link_ptr& l, std::chrono::steady_clock::duration after);

  asio::any_io_executor executor_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  handlers handlers_;
  handshake_admission admission_;
  std::map<handshake_admission::ticket, link_ptr> handshakes_;  // incoming, before their verdict
  // One per kind, so that a flood of one never hides the first notice of another.
  registry::log_limiter per_address_notices_{notice_interval};
  registry::log_limiter total_notices_{notice_interval};
  registry::log_limiter eviction_notices_{notice_interval};
  std::map<std::string, link_ptr> dials_;  // outgoing, before p2p_ready
  std::map<std::string, link_ptr> chats_;  // open chats by the other user's name
  bool closed_ = false;
  // Expires with this object; callbacks that may outlive it hold a weak_ptr.
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
};

}  // namespace parley::peer

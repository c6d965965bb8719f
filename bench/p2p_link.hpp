// One private chat connection (docs/PROTOCOL.md section 8), sealed as the peer seals it. The
// generator plays both peers: the requester dials the granted address and runs the requester's
// handshake (dial), and the target's listener takes the connection (adopt), hears the p2p_open
// and answers it once the runner has matched the key with a private_expect_keyed (answer). Then
// every frame is sealed and opened with peer/crypto's secretstreams, so the benchmark pays what
// a real chat pays.
#pragma once

#include "bench/chat_client.hpp"
#include "bench/stream.hpp"
#include "peer/crypto/chat_seal.hpp"
#include "shared/proto/messages.hpp"

#include <asio/ip/tcp.hpp>

#include <memory>
#include <string>

namespace parley::bench {

// What one side of a chat's handshake needs: both names in role order, the token, this side's
// key pair and the other side's public key.
struct p2p_secrets {
  std::string requester;
  std::string target;
  std::string token;
  std::shared_ptr<const peer::crypto::chat_keypair> own;
  proto::chat_public_key peer_key{};
};

class p2p_link final : public chat_client, private stream::handler {
 public:
  p2p_link(event_loop& loop, client_events& events) : stream_(loop, *this), events_(events) {}
  ~p2p_link() override;

  // The requester's side: connect, run the handshake; ready when p2p_ready checks out.
  void dial(std::size_t user, const asio::ip::tcp::endpoint& to, p2p_secrets secrets);
  // The listener's side: wait for the open (the runner hears it through on_p2p_open).
  void adopt(asio::ip::tcp::socket socket);
  // The runner found the open's key: this link now runs `user`'s side of the handshake.
  void answer(std::size_t user, const p2p_secrets& secrets);

  void send_direct(std::string_view to, std::string_view text) override;
  void send_broadcast(std::string_view text) override;
  void close() override;

  std::size_t user() const { return user_; }

 private:
  enum class state {
    dialing,
    awaiting_challenge,
    awaiting_ready,
    awaiting_open,
    awaiting_match,
    awaiting_proof,
    open,
    done
  };

  void on_connected() override;
  std::size_t on_bytes(std::string_view data) override;
  void on_closed(std::string_view why) override;
  void on_frame(std::string_view body);
  void on_handshake_frame(std::string_view body);
  void send_frame(const proto::p2p_message& message);
  void fail(std::string_view why);

  stream stream_;
  client_events& events_;
  std::size_t user_ = no_user;
  state state_ = state::done;
  std::optional<proto::p2p_open> opening_;  // the listener's, until answered
  std::unique_ptr<peer::crypto::requester_handshake> requester_;
  std::unique_ptr<peer::crypto::target_handshake> target_;
  peer::crypto::sealed_chat chat_;
  std::string plain_;  // scratch: a text's encoding before it is sealed
};

}  // namespace parley::bench

// The test's side of a sealed private chat (docs/design/issue-11.md, section 2) over a raw_client:
// as the requester (p2p_open, p2p_challenge checked, p2p_proof_message, p2p_ready checked) or as
// the target (the mirror image), then sealed p2p_text and p2p_stop frames either way. The values
// come from the peer's own peer/crypto/chat_seal classes, so a test that impersonates one side
// speaks exactly what a real peer speaks; every handshake frame is kept as it crossed the wire,
// for a test to replay or to look for in a capture.
#pragma once

#include "peer/crypto/chat_seal.hpp"
#include "shared/proto/messages.hpp"
#include "tests/e2e/harness.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace parley::e2e {

namespace crypto = parley::peer::crypto;

// What both sides of one chat know before its handshake (crypto::chat_introduction, owned).
struct chat_names {
  std::string requester;
  std::string target;
  std::string token;  // 32 lowercase hex digits, as the registry issues it
  crypto::chat_introduction introduction() const { return {requester, target, token}; }
};

// The whole frames (header and body) of one handshake as they crossed the wire; empty for a
// message that never did.
struct handshake_frames {
  std::string open;       // 1, requester to target
  std::string challenge;  // 2, target to requester
  std::string proof;      // 3, requester to target
  std::string ready;      // 4, target to requester
};

// The frame of a message in clear (the handshake's, or one that should have been sealed).
std::string clear_frame(const proto::p2p_message& message);
// A frame: the 4-byte big-endian length, then `body`.
std::string frame_of_body(std::string_view body);
// A body decoded as a message in clear; nothing if it does not decode.
std::optional<proto::p2p_message> decode_clear(std::string_view body);

// A chat whose handshake succeeded, seen from the test's side.
class sealed_session {
 public:
  explicit sealed_session(crypto::sealed_chat chat) : chat_(std::move(chat)) {}
  const std::string& safety_number() const { return chat_.safety_number; }

  // The next frame of this side's stream for `message`, as the peer seals it
  // (peer/net/private_network.cpp, sealed_frame): a p2p_stop is the final frame.
  std::string seal(const proto::p2p_message& message);
  // The same with `final` as given, whatever the message: a stop that is not the last frame, a
  // text that is.
  std::string seal(const proto::p2p_message& message, bool final);
  void send(raw_client& chat, const proto::p2p_message& message,
            call_site where = call_site::here());

  // The next frame from the other side, opened and decoded.
  struct received {
    proto::p2p_message message;
    bool final = false;
  };
  // Nothing if the connection closed or the timeout passed; a frame that does not open or
  // decode fails the test (a real peer only sends what it sealed).
  std::optional<received> receive(raw_client& chat, milliseconds timeout = default_timeout,
                                  call_site where = call_site::here());
  // The next frame must be a sealed p2p_text: its text.
  std::string expect_text(raw_client& chat, milliseconds timeout = default_timeout,
                          call_site where = call_site::here());

 private:
  crypto::sealed_chat chat_;
};

// The requester's side of one connection attempt, step by step: a fresh nonce for each.
class requester_attempt {
 public:
  requester_attempt(const crypto::chat_keypair& own, const proto::chat_public_key& target_key,
                    const chat_names& names);
  // Message 1.
  proto::p2p_open opening() const;
  // Message 2, checked: message 3, or nothing when the challenge does not check (another key,
  // token, name or commitment on the other side).
  std::optional<proto::p2p_proof_message> on_challenge(const proto::p2p_challenge& challenge);
  // Message 4, checked: the chat, or nothing.
  std::optional<sealed_session> on_ready(const proto::p2p_ready& ready);

 private:
  std::unique_ptr<crypto::requester_handshake> handshake_;
};

// The target's side of one connection attempt, for the requester key the registry relayed.
class target_attempt {
 public:
  target_attempt(const crypto::chat_keypair& own, const proto::chat_public_key& requester_key,
                 const chat_names& names);
  // Message 1, checked: message 2, or nothing (another key).
  std::optional<proto::p2p_challenge> on_open(const proto::p2p_open& opening);
  // Message 3, checked: message 4 and the chat, or nothing.
  struct accepted {
    proto::p2p_ready ready;
    sealed_session chat;
  };
  std::optional<accepted> on_proof(const proto::p2p_proof_message& proof);

 private:
  std::unique_ptr<crypto::target_handshake> handshake_;
};

// The next frame on `chat`, if it is a T in clear (its whole frame in `frame`, if given);
// nothing if the connection closed, the timeout passed or another frame came.
template <class T>
std::optional<T> receive_clear(raw_client& chat, milliseconds timeout = default_timeout,
                               std::string* frame = nullptr);

// Runs the requester's whole handshake on `chat`: the chat, or nothing when the other side
// closed, stayed silent or sent a message that does not check. `frames` (if given) gets every
// handshake frame that crossed.
std::optional<sealed_session> handshake_as_requester(raw_client& chat,
                                                     const crypto::chat_keypair& own,
                                                     const proto::chat_public_key& target_key,
                                                     const chat_names& names,
                                                     handshake_frames* frames = nullptr,
                                                     milliseconds timeout = default_timeout);
// The same as the target, for a requester that dialed the test.
std::optional<sealed_session> handshake_as_target(raw_client& chat, const crypto::chat_keypair& own,
                                                  const proto::chat_public_key& requester_key,
                                                  const chat_names& names,
                                                  handshake_frames* frames = nullptr,
                                                  milliseconds timeout = default_timeout);

// What an attacker without the secret key sends: a proof message of random bytes.
proto::p2p_proof_message random_proof();
proto::p2p_proof random_commitment();

// Whether the other side closed `chat` within `timeout` without sending a single frame.
bool closed_without_a_word(raw_client& chat, milliseconds timeout);

// The 16 bytes a token's 32 hex digits stand for (what a capture must not hold either).
std::string token_bytes(std::string_view hex);

template <class T>
std::optional<T> receive_clear(raw_client& chat, milliseconds timeout, std::string* frame) {
  auto body = chat.receive_body(timeout);
  if (!body) return std::nullopt;
  if (frame) *frame = frame_of_body(*body);
  auto decoded = decode_clear(*body);
  if (!decoded) return std::nullopt;
  if (auto* wanted = std::get_if<T>(&*decoded)) return std::move(*wanted);
  return std::nullopt;
}

}  // namespace parley::e2e

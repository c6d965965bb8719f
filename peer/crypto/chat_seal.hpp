// The cryptography of one private chat (SPEC 10), composed from libsodium's primitives only
// (the schedule and its argument: docs/design/issue-11.md, sections 2 and 3):
// - each side makes a fresh X25519 key pair for the chat (chat_keypair); the registry relays the
//   public halves, with the chat's token, over its TLS link;
// - each connection attempt runs a four-message handshake (requester_handshake,
//   target_handshake): the requester commits to a fresh nonce, the target answers with its own
//   nonce and a proof, the requester opens its commitment with its proof, the target confirms.
//   Every proof is BLAKE2b keyed with a crypto_kx session key over a transcript keyed with the
//   token, which binds both names, both public keys, both nonces and the commitment, and the
//   last two proofs bind each direction's secretstream header: a side without the secret key
//   the registry vouched for, or without the token, or under another name, or replaying an
//   earlier attempt, cannot make a proof, and the token never crosses the peer-to-peer link;
// - every later frame is sealed per direction with crypto_secretstream_xchacha20poly1305
//   (chat_sealer / chat_opener): reordering, replay, tampering and truncation are detected;
// - the safety number of `verify` hashes both keys and both nonces: because the requester is
//   committed to its nonce before it sees the target's, a man in the middle matches the digits
//   of both sides with probability 10^-12 per attempt.
// Not wired into the peer yet (issue 11, step 9).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::peer::crypto {

inline constexpr std::size_t public_key_bytes = 32;  // crypto_kx_PUBLICKEYBYTES
inline constexpr std::size_t key_bytes = 32;         // secretstream key, proof
inline constexpr std::size_t stream_header_bytes = 24;
// What sealing adds to a frame's text (crypto_secretstream_xchacha20poly1305_ABYTES).
inline constexpr std::size_t seal_overhead_bytes = 17;

using public_key = std::array<unsigned char, public_key_bytes>;

// Secret bytes wiped when they go out of scope.
class secret_key {
 public:
  secret_key();
  ~secret_key();
  secret_key(const secret_key& other);
  secret_key& operator=(const secret_key& other);
  unsigned char* data() { return bytes_.data(); }
  const unsigned char* data() const { return bytes_.data(); }
  static constexpr std::size_t size() { return key_bytes; }

 private:
  std::array<unsigned char, key_bytes> bytes_{};
};

// A chat's own key pair: made fresh for each chat, never stored.
class chat_keypair {
 public:
  static chat_keypair generate();
  const public_key& public_part() const { return public_; }
  const secret_key& secret_part() const { return secret_; }

 private:
  chat_keypair() = default;
  public_key public_;
  secret_key secret_;
};

inline constexpr std::uint16_t handshake_version = 3;
inline constexpr std::size_t nonce_bytes = 32;
inline constexpr std::size_t proof_bytes = 32;  // a commitment, a proof, a confirmation
// `verify`: twelve digits, in three groups of four.
inline constexpr std::size_t safety_number_digits = 12;

using nonce = std::array<unsigned char, nonce_bytes>;
using proof = std::array<unsigned char, proof_bytes>;
using stream_header = std::array<unsigned char, stream_header_bytes>;

// What both sides know of a chat before its handshake: the two names (roles follow the consent:
// the requester typed startprivate, the target answered y) and the registry's token.
struct chat_introduction {
  std::string_view requester;
  std::string_view target;
  std::string_view token;  // 32 lowercase hex digits
};

class chat_sealer;
class chat_opener;

// A chat whose handshake has succeeded: this side's sealer, the other side's opener, and the
// digits of `verify`. Every other secret of the handshake is wiped by then.
struct sealed_chat {
  std::unique_ptr<chat_sealer> sealer;
  std::unique_ptr<chat_opener> opener;
  std::string safety_number;
};

// The handshake's four messages (docs/PROTOCOL.md, section 8): their fields, fixed sizes only.
struct open_message {  // 1, requester to target
  public_key requester_key;
  proof commitment;  // of the requester's nonce
};
struct challenge_message {  // 2, target to requester
  nonce target_nonce;
  proof target_proof;
};
struct proof_message {  // 3, requester to target
  nonce requester_nonce;
  stream_header header;  // of the requester's frames
  proof requester_proof;
};
struct ready_message {   // 4, target to requester
  stream_header header;  // of the target's frames
  proof target_confirm;
};

// The requester's side of one connection attempt: a fresh nonce, committed to in message 1.
// Each step runs once, in order; a step that fails ends the attempt (every later one fails too).
class requester_handshake {
 public:
  // Nothing when the token is not 32 hex digits or the target's key is unusable (crypto_kx
  // refuses it: a low-order point).
  static std::unique_ptr<requester_handshake> start(const chat_keypair& own,
                                                    const public_key& target_key,
                                                    const chat_introduction& introduction);
  ~requester_handshake();
  requester_handshake(const requester_handshake&) = delete;
  requester_handshake& operator=(const requester_handshake&) = delete;

  open_message opening() const;
  // Message 2: the target's proof, checked; then message 3.
  std::optional<proof_message> on_challenge(const challenge_message& challenge);
  // Message 4: the target's confirmation, checked; then the chat.
  std::optional<sealed_chat> on_ready(const ready_message& ready);

 private:
  struct state;
  explicit requester_handshake(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

// The target's side of one connection attempt, for the requester key the registry relayed.
class target_handshake {
 public:
  // Nothing when the token is not 32 hex digits or the requester's key is unusable.
  static std::unique_ptr<target_handshake> start(const chat_keypair& own,
                                                 const public_key& requester_key,
                                                 const chat_introduction& introduction);
  ~target_handshake();
  target_handshake(const target_handshake&) = delete;
  target_handshake& operator=(const target_handshake&) = delete;

  // Message 1: the key must be the relayed one; draws this attempt's nonce; then message 2.
  std::optional<challenge_message> on_open(const open_message& opening);
  // Message 3: the commitment must open to the nonce, and the requester's proof check; then
  // message 4 and the chat.
  struct accepted {
    ready_message ready;
    sealed_chat chat;
  };
  std::optional<accepted> on_proof(const proof_message& message);

 private:
  struct state;
  explicit target_handshake(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

// `Safety number with <user>: <digits>`: the requester's and the target's keys and nonces, in
// that order, hashed; the same digits on both sides, others for every chat and connection.
std::string safety_number(const public_key& requester_key, const public_key& target_key,
                          const nonce& requester_nonce, const nonce& target_nonce);

// Seals this side's frames, in order. The header goes first, once, to the other side.
class chat_sealer {
 public:
  explicit chat_sealer(const secret_key& key);
  ~chat_sealer();
  chat_sealer(const chat_sealer&) = delete;
  chat_sealer& operator=(const chat_sealer&) = delete;
  const std::array<unsigned char, stream_header_bytes>& header() const { return header_; }
  // `final`: the last frame (stopprivate); the opener then knows the stream ended on purpose.
  std::string seal(std::string_view plain, bool final = false);

 private:
  struct state;
  std::array<unsigned char, stream_header_bytes> header_{};
  state* state_;
};

// Opens the other side's frames, in the order they were sealed.
class chat_opener {
 public:
  chat_opener(const secret_key& key, const unsigned char* header, std::size_t header_size);
  ~chat_opener();
  chat_opener(const chat_opener&) = delete;
  chat_opener& operator=(const chat_opener&) = delete;
  // False when the header could not start a stream (wrong size).
  bool ready() const { return ready_; }
  struct opened {
    std::string plain;
    bool final = false;
  };
  // Nothing when the frame is not the next one sealed with this stream (tampered, replayed,
  // reordered, from another stream) or comes after the final one; the opener is then done.
  std::optional<opened> open(std::string_view sealed);
  bool failed() const { return failed_; }
  bool ended() const { return ended_; }

 private:
  struct state;
  state* state_;
  bool ready_ = false;
  bool failed_ = false;
  bool ended_ = false;
};

}  // namespace parley::peer::crypto

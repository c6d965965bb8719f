// The cryptography of one private chat (SPEC 10), composed from libsodium's primitives only:
// - each side makes a fresh X25519 key pair for the chat (chat_keypair); the registry relays the
//   public halves, with the chat's token, over its TLS link;
// - both sides derive the same two direction keys and two handshake proofs from their own
//   secret key, the other's public key (crypto_kx), the token and both user names
//   (derive_chat_keys); each sends its proof and checks the other's, so the token never crosses
//   the peer-to-peer link and a side without the secret key the registry vouched for, or without
//   the token, or under another name, cannot produce a proof;
// - every later frame is sealed per direction with crypto_secretstream_xchacha20poly1305
//   (chat_sealer / chat_opener): reordering, replay, tampering and truncation are detected;
// - the safety number of `verify` comes from both public keys, in an order both sides agree on.
// Not wired into the peer yet (issue 11): the handshake's messages and its security argument go
// into docs/PROTOCOL.md, section 8, with that step. What the derivation binds, and why:
// the transcript hashes both names, both public keys and the token (lengths first), and every
// key and proof is BLAKE2b keyed with a crypto_kx session key over a label and the transcript,
// so a proof shows the X25519 secret of the key the registry relayed and the token, for exactly
// these two names, in these roles, in this chat.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
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
// `verify`: six groups of five digits.
inline constexpr std::size_t safety_number_groups = 6;

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

enum class chat_role : std::uint8_t {
  requester,  // typed startprivate and dials
  target,     // answered y and accepts
};

// What both sides know before the handshake: the names, the token and both public keys (the own
// one made here, the other relayed by the registry).
struct chat_context {
  std::string_view requester;
  std::string_view target;
  std::string_view token;
  public_key requester_key;
  public_key target_key;
};

struct chat_keys {
  secret_key send;            // secretstream key of this side's frames
  secret_key receive;         // of the other side's
  secret_key own_proof;       // this side sends it in the handshake
  secret_key expected_proof;  // what the other side's proof must be
};

// Both sides' keys and proofs for `me` in `context`. Nothing when the other's public key is
// unusable (crypto_kx refuses it: a low-order point) or own_pair is not the context's key of
// `me`.
std::optional<chat_keys> derive_chat_keys(chat_role me, const chat_keypair& own_pair,
                                          const chat_context& context);

// Whether a proof received equals the one expected, in constant time.
bool proof_matches(const secret_key& expected, const unsigned char* received, std::size_t size);

// `Safety number with <user>: <digits>`: the same for both sides of a chat (the keys are taken
// in byte order, whoever is whom), and another for every chat, as its keys are fresh.
std::string safety_number(const public_key& a, const public_key& b);

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

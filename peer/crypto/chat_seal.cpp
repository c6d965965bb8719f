#include "peer/crypto/chat_seal.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace parley::peer::crypto {

static_assert(public_key_bytes == crypto_kx_PUBLICKEYBYTES);
static_assert(key_bytes == crypto_kx_SECRETKEYBYTES);
static_assert(key_bytes == crypto_kx_SESSIONKEYBYTES);
static_assert(key_bytes == crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(stream_header_bytes == crypto_secretstream_xchacha20poly1305_HEADERBYTES);
static_assert(seal_overhead_bytes == crypto_secretstream_xchacha20poly1305_ABYTES);
static_assert(key_bytes >= crypto_generichash_KEYBYTES_MIN &&
              key_bytes <= crypto_generichash_KEYBYTES_MAX);

namespace {

void require_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

// A BLAKE2b hash (`size` bytes, 32 unless said) of several parts, keyed or not; a part's length
// comes before it where the parts could otherwise run into each other (names, the token).
class hasher {
 public:
  explicit hasher(const secret_key* key = nullptr, std::size_t size = key_bytes)
      : hasher(key ? key->data() : nullptr, key ? key->size() : 0, size) {}
  hasher(const unsigned char* key, std::size_t key_size, std::size_t size) : size_(size) {
    crypto_generichash_init(&state_, key, key_size, size_);
  }
  ~hasher() { sodium_memzero(&state_, sizeof state_); }
  hasher(const hasher&) = delete;
  hasher& operator=(const hasher&) = delete;

  hasher& raw(const unsigned char* bytes, std::size_t size) {
    crypto_generichash_update(&state_, bytes, size);
    return *this;
  }
  template <std::size_t N>
  hasher& raw(const std::array<unsigned char, N>& bytes) {
    return raw(bytes.data(), bytes.size());
  }
  hasher& raw(std::string_view text) {
    return raw(reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  // Length (two bytes, big-endian: names and tokens are short) then the bytes.
  hasher& field(std::string_view text) {
    const auto size = static_cast<std::uint16_t>(std::min<std::size_t>(text.size(), 0xffff));
    const unsigned char length[2] = {static_cast<unsigned char>(size >> 8),
                                     static_cast<unsigned char>(size & 0xff)};
    raw(length, sizeof length);
    return raw(text.substr(0, size));
  }
  // `out` holds the size given at construction.
  void finish(unsigned char* out) { crypto_generichash_final(&state_, out, size_); }

 private:
  crypto_generichash_state state_;
  std::size_t size_;
};

// A key derived from a crypto_kx session key: BLAKE2b keyed with it, over a label and a
// transcript hash (a PRF: outputs for different labels are independent of each other).
void derive(const secret_key& kx_key, std::string_view label, const secret_key& transcript,
            secret_key& out) {
  hasher h(&kx_key);
  h.raw(label).raw(transcript.data(), transcript.size());
  h.finish(out.data());
}

// A proof: BLAKE2b keyed with `key` over a label and the bytes it vouches for.
template <std::size_t N>
proof make_proof(const secret_key& key, std::string_view label,
                 const std::array<unsigned char, N>& bytes) {
  proof out{};
  hasher h(&key);
  h.raw(label).raw(bytes).finish(out.data());
  return out;
}

bool same_proof(const proof& expected, const proof& received) {
  return crypto_verify_32(expected.data(), received.data()) == 0;
}

proof commitment_of(const nonce& n) {
  proof out{};
  hasher h;
  h.raw("parley commit v3").raw(n).finish(out.data());
  return out;
}

// The token's 16 bytes, the BLAKE2b key of the transcript (crypto_generichash_KEYBYTES_MIN).
constexpr std::size_t token_key_bytes = 16;
static_assert(token_key_bytes == crypto_generichash_KEYBYTES_MIN);
struct token_key {
  std::array<unsigned char, token_key_bytes> bytes{};
  ~token_key() { sodium_memzero(bytes.data(), bytes.size()); }
};
bool parse_token(std::string_view hex, token_key& out) {
  if (hex.size() != token_key_bytes * 2) return false;
  std::size_t length = 0;
  const char* end = nullptr;
  return sodium_hex2bin(out.bytes.data(), out.bytes.size(), hex.data(), hex.size(), nullptr,
                        &length, &end) == 0 &&
         length == token_key_bytes && end == hex.data() + hex.size();
}

// What both sides of one attempt hold, and the steps they share.
struct attempt {
  std::string requester;
  std::string target;
  token_key token;
  public_key requester_key{};
  public_key target_key{};
  secret_key requester_kx;  // k_ab: crypto_kx's key of the requester's direction
  secret_key target_kx;     // k_ba
  proof commitment{};
  nonce requester_nonce{};
  nonce target_nonce{};
  secret_key t1;
  // From t2: each direction's stream key and confirmation key.
  secret_key requester_stream, requester_confirm, target_stream, target_confirm;

  bool take(const chat_introduction& introduction) {
    requester = introduction.requester;
    target = introduction.target;
    return parse_token(introduction.token, token);
  }
  // t1 binds the names, the keys, the commitment and the target's nonce, under the token.
  void make_t1() {
    hasher h(token.bytes.data(), token.bytes.size(), key_bytes);
    h.raw("parley p2p v3 t1")
        .field(requester)
        .field(target)
        .raw(requester_key)
        .raw(target_key)
        .raw(commitment)
        .raw(target_nonce)
        .finish(t1.data());
  }
  proof target_proof() const {
    proof out{};
    hasher h(&target_kx);
    h.raw("target proof").raw(t1.data(), t1.size()).finish(out.data());
    return out;
  }
  // t2 adds the requester's nonce; the four direction keys come from it, and then only they and
  // the nonces are kept.
  void make_direction_keys() {
    secret_key t2;
    hasher h(token.bytes.data(), token.bytes.size(), key_bytes);
    h.raw("parley p2p v3 t2").raw(t1.data(), t1.size()).raw(requester_nonce).finish(t2.data());
    derive(requester_kx, "requester stream", t2, requester_stream);
    derive(requester_kx, "requester confirm", t2, requester_confirm);
    derive(target_kx, "target stream", t2, target_stream);
    derive(target_kx, "target confirm", t2, target_confirm);
    sodium_memzero(requester_kx.data(), requester_kx.size());
    sodium_memzero(target_kx.data(), target_kx.size());
    sodium_memzero(t1.data(), t1.size());
  }
  std::string digits() const {
    return safety_number(requester_key, target_key, requester_nonce, target_nonce);
  }
};

}  // namespace

secret_key::secret_key() = default;
secret_key::~secret_key() { sodium_memzero(bytes_.data(), bytes_.size()); }
secret_key::secret_key(const secret_key& other) : bytes_(other.bytes_) {}
secret_key& secret_key::operator=(const secret_key& other) {
  bytes_ = other.bytes_;
  return *this;
}

chat_keypair chat_keypair::generate() {
  require_sodium();
  chat_keypair pair;
  crypto_kx_keypair(pair.public_.data(), pair.secret_.data());
  return pair;
}

std::string safety_number(const public_key& requester_key, const public_key& target_key,
                          const nonce& requester_nonce, const nonce& target_nonce) {
  require_sodium();
  unsigned char digest[key_bytes];
  hasher h;
  h.raw("parley safety v3")
      .raw(requester_key)
      .raw(target_key)
      .raw(requester_nonce)
      .raw(target_nonce)
      .finish(digest);
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | digest[i];
  value %= 1'000'000'000'000ULL;  // 12 digits; the bias is below 10^-7
  char twelve[16];
  std::snprintf(twelve, sizeof twelve, "%012llu", static_cast<unsigned long long>(value));
  const std::string all(twelve, safety_number_digits);
  return all.substr(0, 4) + ' ' + all.substr(4, 4) + ' ' + all.substr(8, 4);
}

// ------------------------------------------------------------------------ the requester

struct requester_handshake::state : attempt {
  enum class stage { opened, proved, done } at = stage::opened;
  std::unique_ptr<chat_sealer> sealer;
};

requester_handshake::requester_handshake(std::unique_ptr<state> s) : state_(std::move(s)) {}
requester_handshake::~requester_handshake() = default;

std::unique_ptr<requester_handshake> requester_handshake::start(
    const chat_keypair& own, const public_key& target_key, const chat_introduction& introduction) {
  require_sodium();
  auto s = std::make_unique<state>();
  if (!s->take(introduction)) return nullptr;
  s->requester_key = own.public_part();
  s->target_key = target_key;
  // The requester is crypto_kx's client: its transmit key is k_ab.
  if (crypto_kx_client_session_keys(s->target_kx.data(), s->requester_kx.data(),
                                    own.public_part().data(), own.secret_part().data(),
                                    target_key.data()) != 0)
    return nullptr;
  randombytes_buf(s->requester_nonce.data(), s->requester_nonce.size());
  s->commitment = commitment_of(s->requester_nonce);
  return std::unique_ptr<requester_handshake>(new requester_handshake(std::move(s)));
}

open_message requester_handshake::opening() const {
  return {state_->requester_key, state_->commitment};
}

std::optional<proof_message> requester_handshake::on_challenge(const challenge_message& m) {
  state& s = *state_;
  if (s.at != state::stage::opened) return std::nullopt;
  s.at = state::stage::done;  // unless everything below holds
  s.target_nonce = m.target_nonce;
  s.make_t1();
  if (!same_proof(s.target_proof(), m.target_proof)) return std::nullopt;
  s.make_direction_keys();
  s.sealer = std::make_unique<chat_sealer>(s.requester_stream);
  proof_message out{s.requester_nonce, s.sealer->header(),
                    make_proof(s.requester_confirm, "requester proof", s.sealer->header())};
  s.at = state::stage::proved;
  return out;
}

std::optional<sealed_chat> requester_handshake::on_ready(const ready_message& m) {
  state& s = *state_;
  if (s.at != state::stage::proved) return std::nullopt;
  s.at = state::stage::done;
  if (!same_proof(make_proof(s.target_confirm, "target ready", m.header), m.target_confirm))
    return std::nullopt;
  auto opener = std::make_unique<chat_opener>(s.target_stream, m.header.data(), m.header.size());
  if (!opener->ready()) return std::nullopt;
  return sealed_chat{std::move(s.sealer), std::move(opener), s.digits()};
}

// --------------------------------------------------------------------------- the target

struct target_handshake::state : attempt {
  enum class stage { fresh, challenged, done } at = stage::fresh;
};

target_handshake::target_handshake(std::unique_ptr<state> s) : state_(std::move(s)) {}
target_handshake::~target_handshake() = default;

std::unique_ptr<target_handshake> target_handshake::start(const chat_keypair& own,
                                                          const public_key& requester_key,
                                                          const chat_introduction& introduction) {
  require_sodium();
  auto s = std::make_unique<state>();
  if (!s->take(introduction)) return nullptr;
  s->requester_key = requester_key;
  s->target_key = own.public_part();
  // The target is crypto_kx's server: it receives on k_ab and transmits on k_ba.
  if (crypto_kx_server_session_keys(s->requester_kx.data(), s->target_kx.data(),
                                    own.public_part().data(), own.secret_part().data(),
                                    requester_key.data()) != 0)
    return nullptr;
  return std::unique_ptr<target_handshake>(new target_handshake(std::move(s)));
}

std::optional<challenge_message> target_handshake::on_open(const open_message& m) {
  state& s = *state_;
  if (s.at != state::stage::fresh) return std::nullopt;
  if (sodium_memcmp(m.requester_key.data(), s.requester_key.data(), s.requester_key.size()) != 0)
    return std::nullopt;
  s.at = state::stage::challenged;
  s.commitment = m.commitment;
  randombytes_buf(s.target_nonce.data(), s.target_nonce.size());
  s.make_t1();
  return challenge_message{s.target_nonce, s.target_proof()};
}

std::optional<target_handshake::accepted> target_handshake::on_proof(const proof_message& m) {
  state& s = *state_;
  if (s.at != state::stage::challenged) return std::nullopt;
  s.at = state::stage::done;
  // The nonce must be the one committed to before the target's was known.
  if (!same_proof(commitment_of(m.requester_nonce), s.commitment)) return std::nullopt;
  s.requester_nonce = m.requester_nonce;
  s.make_direction_keys();
  if (!same_proof(make_proof(s.requester_confirm, "requester proof", m.header), m.requester_proof))
    return std::nullopt;
  auto opener = std::make_unique<chat_opener>(s.requester_stream, m.header.data(), m.header.size());
  if (!opener->ready()) return std::nullopt;
  auto sealer = std::make_unique<chat_sealer>(s.target_stream);
  ready_message ready{sealer->header(),
                      make_proof(s.target_confirm, "target ready", sealer->header())};
  return accepted{ready, sealed_chat{std::move(sealer), std::move(opener), s.digits()}};
}

struct chat_sealer::state {
  crypto_secretstream_xchacha20poly1305_state s;
};

chat_sealer::chat_sealer(const secret_key& key) : state_(new state) {
  require_sodium();
  crypto_secretstream_xchacha20poly1305_init_push(&state_->s, header_.data(), key.data());
}

chat_sealer::~chat_sealer() {
  sodium_memzero(state_, sizeof *state_);
  delete state_;
}

std::string chat_sealer::seal(std::string_view plain, bool final) {
  std::string sealed(plain.size() + seal_overhead_bytes, '\0');
  unsigned long long size = 0;
  crypto_secretstream_xchacha20poly1305_push(
      &state_->s, reinterpret_cast<unsigned char*>(sealed.data()), &size,
      reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nullptr, 0,
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
            : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  sealed.resize(static_cast<std::size_t>(size));
  return sealed;
}

struct chat_opener::state {
  crypto_secretstream_xchacha20poly1305_state s;
};

chat_opener::chat_opener(const secret_key& key, const unsigned char* header,
                         std::size_t header_size)
    : state_(new state) {
  require_sodium();
  ready_ = header_size == stream_header_bytes &&
           crypto_secretstream_xchacha20poly1305_init_pull(&state_->s, header, key.data()) == 0;
}

chat_opener::~chat_opener() {
  sodium_memzero(state_, sizeof *state_);
  delete state_;
}

std::optional<chat_opener::opened> chat_opener::open(std::string_view sealed) {
  if (!ready_ || failed_ || ended_ || sealed.size() < seal_overhead_bytes) {
    failed_ = true;
    return std::nullopt;
  }
  opened out;
  out.plain.resize(sealed.size() - seal_overhead_bytes);
  unsigned long long size = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(
          &state_->s, reinterpret_cast<unsigned char*>(out.plain.data()), &size, &tag,
          reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(), nullptr, 0) != 0) {
    failed_ = true;
    return std::nullopt;
  }
  out.plain.resize(static_cast<std::size_t>(size));
  out.final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  ended_ = out.final;
  return out;
}

}  // namespace parley::peer::crypto

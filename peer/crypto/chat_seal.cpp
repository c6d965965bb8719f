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
  explicit hasher(const secret_key* key = nullptr, std::size_t size = key_bytes) : size_(size) {
    crypto_generichash_init(&state_, key ? key->data() : nullptr, key ? key->size() : 0, size_);
  }
  ~hasher() { sodium_memzero(&state_, sizeof state_); }
  hasher(const hasher&) = delete;
  hasher& operator=(const hasher&) = delete;

  hasher& raw(const unsigned char* bytes, std::size_t size) {
    crypto_generichash_update(&state_, bytes, size);
    return *this;
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

// Everything the chat is bound to, in one hash: a chat's keys and proofs depend on all of it.
void transcript(const chat_context& c, unsigned char* out) {
  hasher h;
  h.raw("parley private chat v1")
      .field(c.requester)
      .field(c.target)
      .raw(c.requester_key.data(), c.requester_key.size())
      .raw(c.target_key.data(), c.target_key.size())
      .field(c.token);
  h.finish(out);
}

// One key of the chat: BLAKE2b keyed with a crypto_kx session key, over a label and the
// transcript (a PRF: the outputs for different labels are independent of each other).
void derive(const secret_key& kx_key, std::string_view label, const unsigned char* t,
            secret_key& out) {
  hasher h(&kx_key);
  h.raw(label).raw(t, key_bytes);
  h.finish(out.data());
}

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

std::optional<chat_keys> derive_chat_keys(chat_role me, const chat_keypair& own_pair,
                                          const chat_context& context) {
  require_sodium();
  const bool requester = me == chat_role::requester;
  const public_key& own = requester ? context.requester_key : context.target_key;
  if (sodium_memcmp(own.data(), own_pair.public_part().data(), own.size()) != 0)
    return std::nullopt;

  // c2s: what the requester sends; s2c: what the target sends.
  secret_key c2s;
  secret_key s2c;
  if (requester) {
    if (crypto_kx_client_session_keys(s2c.data(), c2s.data(), own_pair.public_part().data(),
                                      own_pair.secret_part().data(),
                                      context.target_key.data()) != 0)
      return std::nullopt;
  } else if (crypto_kx_server_session_keys(c2s.data(), s2c.data(), own_pair.public_part().data(),
                                           own_pair.secret_part().data(),
                                           context.requester_key.data()) != 0) {
    return std::nullopt;
  }

  unsigned char t[key_bytes];
  transcript(context, t);
  chat_keys keys;
  secret_key requester_stream;
  secret_key target_stream;
  secret_key requester_proof;
  secret_key target_proof;
  derive(c2s, "requester stream", t, requester_stream);
  derive(s2c, "target stream", t, target_stream);
  derive(c2s, "requester proof", t, requester_proof);
  derive(s2c, "target proof", t, target_proof);
  sodium_memzero(t, sizeof t);
  keys.send = requester ? requester_stream : target_stream;
  keys.receive = requester ? target_stream : requester_stream;
  keys.own_proof = requester ? requester_proof : target_proof;
  keys.expected_proof = requester ? target_proof : requester_proof;
  return keys;
}

bool proof_matches(const secret_key& expected, const unsigned char* received, std::size_t size) {
  return size == expected.size() && sodium_memcmp(expected.data(), received, size) == 0;
}

std::string safety_number(const public_key& a, const public_key& b) {
  require_sodium();
  const bool a_first = std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  const public_key& first = a_first ? a : b;
  const public_key& second = a_first ? b : a;
  unsigned char digest[crypto_generichash_BYTES_MAX];
  hasher h(nullptr, sizeof digest);
  h.raw("parley safety number v1")
      .raw(first.data(), first.size())
      .raw(second.data(), second.size())
      .finish(digest);
  // Each group: 5 bytes (40 bits) of the digest, modulo 100,000 (a bias below 10^-7).
  std::string digits;
  for (std::size_t group = 0; group < safety_number_groups; ++group) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 5; ++i) value = (value << 8) | digest[group * 5 + i];
    char five[8];
    std::snprintf(five, sizeof five, "%05u", static_cast<unsigned>(value % 100000));
    if (!digits.empty()) digits += ' ';
    digits += five;
  }
  return digits;
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

// A check of the proposed private-chat key schedule: both sides derive the same proofs, stream
// keys and safety number; a wrong token, name or nonce breaks the proofs.
#include <sodium.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using key32 = std::array<unsigned char, 32>;
using bytes = std::vector<unsigned char>;

void append(bytes& out, const void* p, std::size_t n) {
  const auto* c = static_cast<const unsigned char*>(p);
  out.insert(out.end(), c, c + n);
}
void append_label(bytes& out, const char* label) {
  // Fixed 16-byte labels, NUL padded.
  char l[16] = {};
  std::strncpy(l, label, sizeof l);
  append(out, l, sizeof l);
}
void append_name(bytes& out, const std::string& name) {
  const unsigned char n = static_cast<unsigned char>(name.size());
  append(out, &n, 1);
  append(out, name.data(), name.size());
}
key32 mac(const unsigned char* key, std::size_t keylen, const bytes& in) {
  key32 out{};
  crypto_generichash(out.data(), out.size(), in.data(), in.size(), key, keylen);
  return out;
}

struct side {
  std::string requester, target;
  key32 pk_a{}, pk_b{};       // requester's, target's chat public keys
  unsigned char token[16]{};  // the registry's token, raw
  key32 k_ab{}, k_ba{};       // crypto_kx: requester->target, target->requester
  key32 n_a{}, n_b{}, commit_a{};
  key32 h1{}, h2{};
  key32 stream_ab{}, stream_ba{}, confirm_ab{}, confirm_ba{};

  void schedule_h1() {
    bytes t;
    append_label(t, "parley-p2p-3/h1");
    append_name(t, requester);
    append_name(t, target);
    append(t, pk_a.data(), 32);
    append(t, pk_b.data(), 32);
    append(t, commit_a.data(), 32);
    append(t, n_b.data(), 32);
    h1 = mac(token, sizeof token, t);
  }
  key32 listener_proof() const {
    bytes t;
    append_label(t, "listener-proof");
    append(t, h1.data(), 32);
    return mac(k_ba.data(), 32, t);
  }
  void schedule_h2() {
    bytes t;
    append_label(t, "parley-p2p-3/h2");
    append(t, h1.data(), 32);
    append(t, n_a.data(), 32);
    h2 = mac(token, sizeof token, t);
    const auto derive = [&](const key32& k, const char* label) {
      bytes in;
      append_label(in, label);
      append(in, h2.data(), 32);
      return mac(k.data(), 32, in);
    };
    stream_ab = derive(k_ab, "stream");
    stream_ba = derive(k_ba, "stream");
    confirm_ab = derive(k_ab, "confirm");
    confirm_ba = derive(k_ba, "confirm");
  }
  key32 header_proof(const key32& confirm, const char* label, const unsigned char* header) const {
    bytes t;
    append_label(t, label);
    append(t, header, crypto_secretstream_xchacha20poly1305_HEADERBYTES);
    return mac(confirm.data(), 32, t);
  }
  std::string safety_number() const {
    bytes t;
    append_label(t, "parley-safety-1");
    append(t, pk_a.data(), 32);
    append(t, pk_b.data(), 32);
    append(t, n_a.data(), 32);
    append(t, n_b.data(), 32);
    key32 h{};
    crypto_generichash(h.data(), h.size(), t.data(), t.size(), nullptr, 0);
    unsigned long long v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
    v %= 1000000000000ULL;
    char digits[16];
    std::snprintf(digits, sizeof digits, "%012llu", v);
    std::string s(digits);
    return s.substr(0, 4) + " " + s.substr(4, 4) + " " + s.substr(8, 4);
  }
};

int main() {
  if (sodium_init() < 0) return 1;
  key32 pk_a, sk_a, pk_b, sk_b;
  crypto_kx_keypair(pk_a.data(), sk_a.data());
  crypto_kx_keypair(pk_b.data(), sk_b.data());
  unsigned char token[16];
  randombytes_buf(token, sizeof token);

  side a, b;
  for (side* s : {&a, &b}) {
    s->requester = "yoda";
    s->target = "luke";
    s->pk_a = pk_a;
    s->pk_b = pk_b;
    std::memcpy(s->token, token, sizeof token);
  }
  // Requester = kx client: tx is requester->target.
  if (crypto_kx_client_session_keys(a.k_ba.data(), a.k_ab.data(), pk_a.data(), sk_a.data(),
                                    pk_b.data()) != 0)
    return 1;
  if (crypto_kx_server_session_keys(b.k_ab.data(), b.k_ba.data(), pk_b.data(), sk_b.data(),
                                    pk_a.data()) != 0)
    return 1;
  std::printf("kx directions agree: %d\n",
              a.k_ab == b.k_ab && a.k_ba == b.k_ba && a.k_ab != a.k_ba);

  // msg1: the commitment to the requester's nonce.
  randombytes_buf(a.n_a.data(), 32);
  crypto_generichash(a.commit_a.data(), 32, a.n_a.data(), 32, nullptr, 0);
  b.commit_a = a.commit_a;
  // msg2: the listener's nonce and proof.
  randombytes_buf(b.n_b.data(), 32);
  a.n_b = b.n_b;
  b.schedule_h1();
  a.schedule_h1();
  std::printf("listener proof verifies: %d\n",
              crypto_verify_32(a.listener_proof().data(), b.listener_proof().data()) == 0);
  // msg3: the nonce revealed, the requester's stream header and proof.
  b.n_a = a.n_a;
  key32 check{};
  crypto_generichash(check.data(), 32, b.n_a.data(), 32, nullptr, 0);
  std::printf("commitment opens: %d\n", check == b.commit_a);
  a.schedule_h2();
  b.schedule_h2();
  crypto_secretstream_xchacha20poly1305_state push_ab, pull_ab;
  unsigned char header_ab[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&push_ab, header_ab, a.stream_ab.data());
  const auto proof_a = a.header_proof(a.confirm_ab, "requester-proof", header_ab);
  std::printf(
      "requester proof verifies: %d\n",
      crypto_verify_32(proof_a.data(),
                       b.header_proof(b.confirm_ab, "requester-proof", header_ab).data()) == 0);
  std::printf("pull init: %d\n", crypto_secretstream_xchacha20poly1305_init_pull(
                                     &pull_ab, header_ab, b.stream_ab.data()));
  const char* text = "hello luke";
  unsigned char c[64];
  unsigned long long clen = 0;
  crypto_secretstream_xchacha20poly1305_push(&push_ab, c, &clen,
                                             reinterpret_cast<const unsigned char*>(text),
                                             std::strlen(text), nullptr, 0, 0);
  unsigned char m[64];
  unsigned long long mlen = 0;
  unsigned char tag = 0xff;
  const int ok =
      crypto_secretstream_xchacha20poly1305_pull(&pull_ab, m, &mlen, &tag, c, clen, nullptr, 0);
  std::printf("sealed frame opens: %d (%llu bytes, +%llu overhead)\n", ok == 0, mlen, clen - mlen);
  // The same frame again (a replay) must not open.
  std::printf("replayed frame refused: %d\n",
              crypto_secretstream_xchacha20poly1305_pull(&pull_ab, m, &mlen, &tag, c, clen, nullptr,
                                                         0) != 0);
  std::printf("safety numbers: %s / %s\n", a.safety_number().c_str(), b.safety_number().c_str());

  // Another name, another token, another nonce: the proofs differ.
  side carol = b;
  carol.requester = "carol";
  carol.schedule_h1();
  std::printf("another name breaks the listener proof: %d\n",
              crypto_verify_32(carol.listener_proof().data(), a.listener_proof().data()) != 0);
  side wrong = b;
  wrong.token[0] ^= 1;
  wrong.schedule_h1();
  std::printf("another token breaks it: %d\n",
              crypto_verify_32(wrong.listener_proof().data(), a.listener_proof().data()) != 0);
  std::printf("sizes: kx pk %u, kx session %u, ss header %u, ss abytes %u, ss state %zu\n",
              crypto_kx_PUBLICKEYBYTES, crypto_kx_SESSIONKEYBYTES,
              crypto_secretstream_xchacha20poly1305_HEADERBYTES,
              crypto_secretstream_xchacha20poly1305_ABYTES,
              sizeof(crypto_secretstream_xchacha20poly1305_state));
  std::printf("libsodium %s\n", sodium_version_string());
}

#include "tests/e2e/sealed_p2p.hpp"

#include "shared/proto/codec.hpp"
#include "shared/proto/frame.hpp"

#include <random>
#include <stdexcept>
#include <utility>
#include <variant>

namespace parley::e2e {

std::string clear_frame(const proto::p2p_message& message) { return proto::encode_frame(message); }

std::string frame_of_body(std::string_view body) {
  return frame_header(static_cast<std::uint32_t>(body.size())).append(body);
}

std::optional<proto::p2p_message> decode_clear(std::string_view body) {
  return proto::decode_p2p(body).message;
}

// ------------------------------------------------------------------------- sealed_session

std::string sealed_session::seal(const proto::p2p_message& message) {
  return seal(message, std::holds_alternative<proto::p2p_stop>(message));
}

std::string sealed_session::seal(const proto::p2p_message& message, bool final) {
  // The body without its own frame header is what the peer seals.
  const auto plain = proto::encode_frame(message);
  return frame_of_body(
      chat_.sealer->seal(std::string_view(plain).substr(proto::frame_header_bytes), final));
}

void sealed_session::send(raw_client& chat, const proto::p2p_message& message, call_site where) {
  if (!chat.send_bytes(seal(message)))
    fail_at(where, "private chat: the peer closed the connection");
}

std::optional<sealed_session::received> sealed_session::receive(raw_client& chat,
                                                                milliseconds timeout,
                                                                call_site where) {
  const auto body = chat.receive_body(timeout);
  if (!body) return std::nullopt;
  const auto opened = chat_.opener->open(*body);
  if (!opened) fail_at(where, "private chat: a frame that does not open");
  auto decoded = proto::decode_p2p(opened->plain);
  if (!decoded.message) fail_at(where, "private chat: a sealed frame that does not decode");
  return received{std::move(*decoded.message), opened->final};
}

std::string sealed_session::expect_text(raw_client& chat, milliseconds timeout, call_site where) {
  const auto got = receive(chat, timeout, where);
  if (!got) fail_at(where, "private chat: no frame came");
  const auto* text = std::get_if<proto::p2p_text>(&got->message);
  if (!text || got->final) fail_at(where, "private chat: the frame is not a text");
  return text->text.value;
}

// ------------------------------------------------------------------------- the handshake

requester_attempt::requester_attempt(const crypto::chat_keypair& own,
                                     const proto::chat_public_key& target_key,
                                     const chat_names& names)
    : handshake_(crypto::requester_handshake::start(own, target_key, names.introduction())) {
  // A test gives well-formed tokens and real keys: anything else is the test's mistake.
  if (!handshake_) throw std::invalid_argument("requester_attempt: unusable token or key");
}

proto::p2p_open requester_attempt::opening() const {
  const auto opening = handshake_->opening();
  return {crypto::handshake_version, opening.requester_key, opening.commitment};
}

std::optional<proto::p2p_proof_message> requester_attempt::on_challenge(
    const proto::p2p_challenge& challenge) {
  const auto proof = handshake_->on_challenge({challenge.target_nonce, challenge.target_proof});
  if (!proof) return std::nullopt;
  return proto::p2p_proof_message{proof->requester_nonce, proof->header, proof->requester_proof};
}

std::optional<sealed_session> requester_attempt::on_ready(const proto::p2p_ready& ready) {
  auto chat = handshake_->on_ready({ready.header, ready.target_confirm});
  if (!chat) return std::nullopt;
  return sealed_session(std::move(*chat));
}

target_attempt::target_attempt(const crypto::chat_keypair& own,
                               const proto::chat_public_key& requester_key, const chat_names& names)
    : handshake_(crypto::target_handshake::start(own, requester_key, names.introduction())) {
  if (!handshake_) throw std::invalid_argument("target_attempt: unusable token or key");
}

std::optional<proto::p2p_challenge> target_attempt::on_open(const proto::p2p_open& opening) {
  if (opening.version != crypto::handshake_version) return std::nullopt;
  const auto challenge = handshake_->on_open({opening.requester_key, opening.commitment});
  if (!challenge) return std::nullopt;
  return proto::p2p_challenge{challenge->target_nonce, challenge->target_proof};
}

std::optional<target_attempt::accepted> target_attempt::on_proof(
    const proto::p2p_proof_message& proof) {
  auto accepted =
      handshake_->on_proof({proof.requester_nonce, proof.header, proof.requester_proof});
  if (!accepted) return std::nullopt;
  return target_attempt::accepted{
      proto::p2p_ready{accepted->ready.header, accepted->ready.target_confirm},
      sealed_session(std::move(accepted->chat))};
}

std::optional<sealed_session> handshake_as_requester(
    raw_client& chat, const crypto::chat_keypair& own, const proto::chat_public_key& target_key,
    const chat_names& names, handshake_frames* frames, milliseconds timeout) {
  handshake_frames seen;
  const auto keep = [&] {
    if (frames) *frames = seen;
  };
  requester_attempt attempt(own, target_key, names);
  seen.open = clear_frame(attempt.opening());
  if (!chat.send_bytes(seen.open)) return keep(), std::nullopt;
  const auto challenge = receive_clear<proto::p2p_challenge>(chat, timeout, &seen.challenge);
  const auto proof = challenge ? attempt.on_challenge(*challenge) : std::nullopt;
  if (!proof) return keep(), std::nullopt;
  seen.proof = clear_frame(*proof);
  if (!chat.send_bytes(seen.proof)) return keep(), std::nullopt;
  const auto ready = receive_clear<proto::p2p_ready>(chat, timeout, &seen.ready);
  keep();
  if (!ready) return std::nullopt;
  return attempt.on_ready(*ready);
}

std::optional<sealed_session> handshake_as_target(raw_client& chat, const crypto::chat_keypair& own,
                                                  const proto::chat_public_key& requester_key,
                                                  const chat_names& names, handshake_frames* frames,
                                                  milliseconds timeout) {
  handshake_frames seen;
  const auto keep = [&] {
    if (frames) *frames = seen;
  };
  target_attempt attempt(own, requester_key, names);
  const auto opening = receive_clear<proto::p2p_open>(chat, timeout, &seen.open);
  const auto challenge = opening ? attempt.on_open(*opening) : std::nullopt;
  if (!challenge) return keep(), std::nullopt;
  seen.challenge = clear_frame(*challenge);
  if (!chat.send_bytes(seen.challenge)) return keep(), std::nullopt;
  const auto proof = receive_clear<proto::p2p_proof_message>(chat, timeout, &seen.proof);
  auto accepted = proof ? attempt.on_proof(*proof) : std::nullopt;
  if (!accepted) return keep(), std::nullopt;
  seen.ready = clear_frame(accepted->ready);
  keep();
  if (!chat.send_bytes(seen.ready)) return std::nullopt;
  return std::move(accepted->chat);
}

// ------------------------------------------------------------------------- attackers' bytes

namespace {

template <std::size_t size>
void fill_random(std::array<std::uint8_t, size>& bytes) {
  // Not secret: it only has to be what nobody could have proved.
  static std::mt19937 generator{std::random_device{}()};
  for (auto& byte : bytes) byte = static_cast<std::uint8_t>(generator());
}

}  // namespace

proto::p2p_proof_message random_proof() {
  proto::p2p_proof_message proof;
  fill_random(proof.requester_nonce);
  fill_random(proof.header);
  fill_random(proof.requester_proof);
  return proof;
}

proto::p2p_proof random_commitment() {
  proto::p2p_proof commitment;
  fill_random(commitment);
  return commitment;
}

bool closed_without_a_word(raw_client& chat, milliseconds timeout) {
  if (chat.receive_body(timeout)) return false;
  // The read above ended at the end of the stream (then this sees it again at once) or at the
  // timeout (then nothing has closed); a wait of 0 would not even look.
  return chat.wait_closed(10ms);
}

std::string token_bytes(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return bytes;
}

}  // namespace parley::e2e

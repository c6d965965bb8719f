#include "shared/proto/codec.hpp"

#include "shared/proto/body_reader.hpp"

#include "shared/proto/text.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/variant.hpp>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <istream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <type_traits>
#include <variant>

namespace parley::proto {
namespace {

// Appends everything written to a std::string (no ostringstream copy at the end). Re-aimed at
// each frame's string, so one stream per thread serves every encode.
class string_sink : public std::streambuf {
 public:
  void aim(std::string* out) { out_ = out; }

 protected:
  std::streamsize xsputn(const char* data, std::streamsize n) override {
    out_->append(data, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type ch) override {
    if (!traits_type::eq_int_type(ch, traits_type::eof()))
      out_->push_back(traits_type::to_char_type(ch));
    return traits_type::not_eof(ch);
  }

 private:
  std::string* out_ = nullptr;
};

// Reads from a string_view without copying it; re-aimed at each body, like string_sink.
class view_source : public std::streambuf {
 public:
  void aim(std::string_view in) {
    auto* begin = const_cast<char*>(in.data());
    setg(begin, begin, begin + in.size());
  }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

// Building a std::ostream or std::istream (basic_ios::init, its locale facets) cost more than
// encoding or decoding a short message itself, so each thread keeps one of each. Nothing inside
// cereal's archives encodes or decodes another frame, so a stream is never used re-entrantly.
struct encode_stream {
  string_sink sink;
  std::ostream stream{&sink};
};
struct decode_stream {
  view_source source;
  std::istream stream{&source};
};

encode_stream& encoder_for_this_thread() {
  thread_local encode_stream encoder;
  return encoder;
}

decode_stream& decoder_for_this_thread() {
  thread_local decode_stream decoder;
  return decoder;
}

template <class Message>
std::string encode_any(const Message& message) {
  if (auto why = validate(message)) throw std::invalid_argument("encode: " + *why);
  std::string frame(frame_header_bytes, '\0');
  {
    auto& encoder = encoder_for_this_thread();
    encoder.sink.aim(&frame);
    encoder.stream.clear();
    // Pinned to little-endian so the bytes on the wire do not depend on the host.
    cereal::PortableBinaryOutputArchive archive(
        encoder.stream, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    archive(message);
  }
  const auto body = frame.size() - frame_header_bytes;
  if (body > max_frame_body) throw std::invalid_argument("encode: frame over its bound");
  write_frame_length(frame.data(), static_cast<std::uint32_t>(body));
  return frame;
}

template <class Message>
decoded<Message> decode_any(std::string_view body) {
  decoded<Message> result;
  if (body.size() > max_frame_body) {
    result.error = "frame over its bound";
    return result;
  }
  // The first byte is cereal's endianness flag; anything but 0 or 1 is not our encoder's.
  if (body.empty() || static_cast<unsigned char>(body[0]) > 1) {
    result.error = "bad archive header";
    return result;
  }
  try {
    auto& decoder = decoder_for_this_thread();
    decoder.source.aim(body);
    decoder.stream.clear();
    Message message;
    {
      cereal::PortableBinaryInputArchive archive(decoder.stream);
      archive(message);
    }
    if (decoder.source.remaining() != 0) {
      result.error = "trailing bytes after the message";
      return result;
    }
    if (auto why = validate(message)) {
      result.error = std::move(*why);
      return result;
    }
    result.message = std::move(message);
  } catch (const std::exception& e) {
    result.error = std::string("undecodable: ") + e.what();
  } catch (...) {
    result.error = "undecodable";
  }
  return result;
}

template <class Enum>
bool in_range(Enum value) {
  return static_cast<std::underlying_type_t<Enum>>(value) <=
         static_cast<std::underlying_type_t<Enum>>(Enum::last);
}

bool is_flag(std::uint8_t value) { return value <= 1; }

// A textual IPv4 or IPv6 address (with an optional %scope): hex digits, '.', ':', '%' and the
// letters and digits of a scope name.
bool is_address(std::string_view text) {
  if (text.empty() || text.size() > max_address_bytes) return false;
  for (unsigned char c : text)
    if (!(std::isalnum(c) || c == '.' || c == ':' || c == '%')) return false;
  return true;
}

std::optional<problem> check_name(const name_string& name, const char* field) {
  if (is_valid_name(name.value)) return std::nullopt;
  return std::string(field) + ": not a valid user name";
}

std::optional<problem> check_text(std::string_view text) {
  if (text.size() > max_text_bytes) return "text: over its bound";
  if (text.empty()) return "text: empty";
  if (!is_valid_utf8(text)) return "text: not UTF-8";
  return {};
}

std::optional<problem> check_text(const text_string& text) {
  return check_text(std::string_view(text.value));
}

struct client_validator {
  std::optional<problem> operator()(const client_hello& m) const {
    if (!m.agent.fits() || has_ascii_control(m.agent.value) || !is_valid_utf8(m.agent.value))
      return "hello: bad agent string";
    return {};
  }
  std::optional<problem> operator()(const login_name& m) const {
    return check_name(m.name, "login_name");
  }
  std::optional<problem> operator()(const login_password& m) const {
    if (!m.password.fits()) return "login_password: over its bound";
    if (has_ascii_control(m.password.value) || !is_valid_utf8(m.password.value))
      return "login_password: control characters or not UTF-8";
    return {};
  }
  std::optional<problem> operator()(const direct_message& m) const {
    if (auto why = check_name(m.to, "direct_message.to")) return why;
    return check_text(m.text);
  }
  std::optional<problem> operator()(const broadcast_message& m) const { return check_text(m.text); }
  std::optional<problem> operator()(const who_else&) const { return {}; }
  std::optional<problem> operator()(const who_else_since&) const { return {}; }
  std::optional<problem> operator()(const block_user& m) const {
    return check_name(m.name, "block_user");
  }
  std::optional<problem> operator()(const unblock_user& m) const {
    return check_name(m.name, "unblock_user");
  }
  std::optional<problem> operator()(const logout_request&) const { return {}; }
  std::optional<problem> operator()(const activity&) const { return {}; }
  std::optional<problem> operator()(const private_listen& m) const {
    return m.port != 0 ? std::optional<problem>() : "private_listen: port 0";
  }
  std::optional<problem> operator()(const private_request& m) const {
    return check_name(m.to, "private_request.to");
  }
  std::optional<problem> operator()(const private_answer& m) const {
    if (!is_flag(m.accept)) return "private_answer: accept is not 0 or 1";
    return check_name(m.requester, "private_answer.requester");
  }
  // A key's 32 bytes are whatever they are: crypto_kx refuses a bad point at the peers.
  std::optional<problem> operator()(const private_invite& m) const {
    return check_name(m.to, "private_invite.to");
  }
  std::optional<problem> operator()(const private_consent& m) const {
    return check_name(m.requester, "private_consent.requester");
  }
  std::optional<problem> operator()(const stored_received& m) const {
    if (m.up_to == 0) return "stored_received: id 0";
    return {};
  }
  // A ticket's 32 bytes are whatever they are: the registry compares digests.
  std::optional<problem> operator()(const resume_session& m) const {
    return check_name(m.name, "resume_session.name");
  }
};

struct server_validator {
  std::optional<problem> operator()(const server_hello&) const { return {}; }
  std::optional<problem> operator()(const login_reply& m) const {
    return in_range(m.result) ? std::optional<problem>() : "login_reply: unknown result";
  }
  std::optional<problem> operator()(const delivery& m) const {
    if (auto why = check_name(m.from, "delivery.from")) return why;
    if (!in_range(m.kind)) return "delivery: unknown kind";
    return check_text(m.text);
  }
  std::optional<problem> operator()(const presence& m) const {
    if (!is_flag(m.online)) return "presence: online is not 0 or 1";
    return check_name(m.user, "presence.user");
  }
  std::optional<problem> operator()(const presence_batch& m) const {
    if (!m.changes.fits()) return "presence_batch: too many changes";
    if (m.changes.items.empty()) return "presence_batch: empty";
    for (const auto& change : m.changes.items)
      if (auto why = (*this)(change)) return "presence_batch: " + *why;
    return {};
  }
  std::optional<problem> operator()(const command_reply& m) const {
    if (!in_range(m.result)) return "command_reply: unknown outcome";
    if (!m.subject.value.empty()) return check_name(m.subject, "command_reply.subject");
    return {};
  }
  std::optional<problem> operator()(const user_list& m) const {
    if (!in_range(m.query)) return "user_list: unknown query";
    if (!is_flag(m.final_chunk)) return "user_list: final_chunk is not 0 or 1";
    if (!m.names.fits()) return "user_list: too many names";
    for (const auto& name : m.names.items)
      if (auto why = check_name(name, "user_list.names")) return why;
    return {};
  }
  std::optional<problem> operator()(const session_end& m) const {
    return in_range(m.reason) ? std::optional<problem>() : "session_end: unknown reason";
  }
  std::optional<problem> operator()(const private_offer& m) const {
    return check_name(m.from, "private_offer.from");
  }
  std::optional<problem> operator()(const private_expect& m) const {
    if (!is_valid_token(m.token.value)) return "private_expect: bad token";
    return check_name(m.peer, "private_expect.peer");
  }
  std::optional<problem> operator()(const private_expect_from& m) const {
    if (!is_valid_token(m.token.value)) return "private_expect_from: bad token";
    if (!is_address(m.address.value)) return "private_expect_from: bad address";
    return check_name(m.peer, "private_expect_from.peer");
  }
  std::optional<problem> operator()(const private_expect_keyed& m) const {
    if (!is_valid_token(m.token.value)) return "private_expect_keyed: bad token";
    if (!is_address(m.address.value)) return "private_expect_keyed: bad address";
    return check_name(m.peer, "private_expect_keyed.peer");
  }
  std::optional<problem> operator()(const private_granted_keyed& m) const {
    if (!is_valid_token(m.token.value)) return "private_granted_keyed: bad token";
    if (m.port == 0) return "private_granted_keyed: port 0";
    if (!is_address(m.address.value)) return "private_granted_keyed: bad address";
    return check_name(m.peer, "private_granted_keyed.peer");
  }
  std::optional<problem> operator()(const private_granted& m) const {
    if (!is_valid_token(m.token.value)) return "private_granted: bad token";
    if (m.port == 0) return "private_granted: port 0";
    if (!is_address(m.address.value)) return "private_granted: bad address";
    return check_name(m.peer, "private_granted.peer");
  }
  std::optional<problem> operator()(const private_declined& m) const {
    return check_name(m.peer, "private_declined.peer");
  }
  std::optional<problem> operator()(const stored_message& m) const {
    if (m.id == 0) return "stored_message: id 0";
    if (auto why = check_name(m.from, "stored_message.from")) return why;
    return check_text(m.text);
  }
  std::optional<problem> operator()(const stored_end&) const { return {}; }
  std::optional<problem> operator()(const session_ticket&) const { return {}; }
  std::optional<problem> operator()(const resume_reply& m) const {
    return in_range(m.result) ? std::optional<problem>() : "resume_reply: unknown result";
  }
};

struct p2p_validator {
  std::optional<problem> operator()(const p2p_hello& m) const {
    if (!is_valid_token(m.token.value)) return "p2p_hello: bad token";
    return check_name(m.from, "p2p_hello.from");
  }
  std::optional<problem> operator()(const p2p_accept&) const { return {}; }
  std::optional<problem> operator()(const p2p_text& m) const { return check_text(m.text); }
  std::optional<problem> operator()(const p2p_stop&) const { return {}; }
  std::optional<problem> operator()(const p2p_open&) const { return {}; }
  std::optional<problem> operator()(const p2p_challenge&) const { return {}; }
  std::optional<problem> operator()(const p2p_proof_message&) const { return {}; }
  std::optional<problem> operator()(const p2p_ready&) const { return {}; }
};

}  // namespace

std::optional<problem> validate(const client_message& message) {
  return std::visit(client_validator{}, message);
}
std::optional<problem> validate(const server_message& message) {
  return std::visit(server_validator{}, message);
}
std::optional<problem> validate(const p2p_message& message) {
  return std::visit(p2p_validator{}, message);
}

std::string encode_frame(const client_message& message) { return encode_any(message); }
std::string encode_frame(const server_message& message) { return encode_any(message); }
std::string encode_frame(const p2p_message& message) { return encode_any(message); }
frame_ptr make_frame(const server_message& message) {
  return std::make_shared<const std::string>(encode_any(message));
}

namespace {

// cereal's portable binary archive, as make_delivery_frame writes it: the endianness flag (1:
// little-endian, as encode_any pins it), the variant index as an i32, then the fields in order;
// a string is a u64 size tag and its bytes, an enum its underlying integer.
constexpr char little_endian_flag = 1;

template <class Variant, class T, std::size_t I = 0>
constexpr std::size_t variant_index() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Variant>, T>) {
    return I;
  } else {
    return variant_index<Variant, T, I + 1>();
  }
}

void put_le(char*& at, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i, value >>= 8) *at++ = static_cast<char>(value & 0xff);
}

void put_string(char*& at, std::string_view s) {
  put_le(at, s.size(), sizeof(std::uint64_t));
  std::memcpy(at, s.data(), s.size());
  at += s.size();
}

}  // namespace

frame_ptr make_delivery_frame(std::string_view from, std::string_view text, delivery_kind kind) {
  if (!is_valid_name(from))
    throw std::invalid_argument("encode: delivery.from: not a valid user name");
  if (!in_range(kind)) throw std::invalid_argument("encode: delivery: unknown kind");
  if (auto why = check_text(text)) throw std::invalid_argument("encode: " + *why);
  constexpr auto index = static_cast<std::uint32_t>(variant_index<server_message, delivery>());
  const std::size_t body = 1 + sizeof(std::int32_t) + sizeof(std::uint64_t) + from.size() +
                           sizeof(std::uint64_t) + text.size() + sizeof(delivery_kind);
  // Within the frame bound by the checks above: a name and a text at their bounds are far below.
  std::string frame(frame_header_bytes + body, '\0');
  write_frame_length(frame.data(), static_cast<std::uint32_t>(body));
  char* at = frame.data() + frame_header_bytes;
  *at++ = little_endian_flag;
  put_le(at, index, sizeof(std::int32_t));
  put_string(at, from);
  put_string(at, text);
  put_le(at, static_cast<std::uint8_t>(kind), sizeof(delivery_kind));
  return std::make_shared<const std::string>(std::move(frame));
}

namespace {

// The messages a registry receives most, read without cereal's stream machinery: a
// little-endian body of a direct_message or a broadcast_message that is well-formed and valid.
// Anything else (another message, a big-endian body, a bound broken, trailing bytes, an invalid
// name or text) returns nullopt and goes through decode_any, which gives the same result for
// what this accepts and the error for the rest.
std::optional<client_message> decode_hot_client(std::string_view body) {
  constexpr auto direct_index =
      static_cast<std::uint32_t>(variant_index<client_message, direct_message>());
  constexpr auto broadcast_index =
      static_cast<std::uint32_t>(variant_index<client_message, broadcast_message>());
  if (body_reader in(body); in.expect_prefix(direct_index)) {
    const auto to = in.string(max_name_bytes);
    const auto text = to ? in.string(max_text_bytes) : std::nullopt;
    if (!text || !in.at_end() || !is_valid_name(*to) || check_text(*text)) return std::nullopt;
    return client_message{direct_message{std::string(*to), std::string(*text)}};
  }
  if (body_reader in(body); in.expect_prefix(broadcast_index)) {
    const auto text = in.string(max_text_bytes);
    if (!text || !in.at_end() || check_text(*text)) return std::nullopt;
    return client_message{broadcast_message{std::string(*text)}};
  }
  return std::nullopt;
}

}  // namespace

decoded<client_message> decode_client(std::string_view body) {
  if (body.size() <= max_frame_body) {
    if (auto message = decode_hot_client(body)) return {std::move(message), {}};
  }
  return decode_any<client_message>(body);
}
decoded<server_message> decode_server(std::string_view body) {
  return decode_any<server_message>(body);
}
decoded<p2p_message> decode_p2p(std::string_view body) { return decode_any<p2p_message>(body); }

}  // namespace parley::proto

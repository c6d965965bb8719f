// The codec: every message round-trips, and every kind of hostile body comes back as an error
// (never an exception, never a large allocation).
#include "shared/proto/codec.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace proto = parley::proto;

namespace {

// A well-formed private-chat token: 32 lowercase hex digits.
constexpr const char* sample_token = "0123456789abcdef0123456789abcdef";

// A chat key whose bytes are 0, 1, ..., 31: where each lands on the wire shows.
proto::chat_public_key sample_key(std::uint8_t first = 0) {
  proto::chat_public_key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(first + i);
  return key;
}

proto::p2p_stream_header sample_header(std::uint8_t first) {
  proto::p2p_stream_header header{};
  for (std::size_t i = 0; i < header.size(); ++i) header[i] = static_cast<std::uint8_t>(first + i);
  return header;
}

// One valid instance of every client message, in variant order.
std::vector<proto::client_message> sample_client_messages() {
  return {
      proto::client_hello{proto::protocol_version, "parley-peer/0.1"},
      proto::login_name{"yoda"},
      proto::login_password{"do-or-do-not"},
      proto::direct_message{"luke", "Train yourself to let go ✓"},
      proto::broadcast_message{"hello\tall"},
      proto::who_else{},
      proto::who_else_since{300},
      proto::block_user{"vader"},
      proto::unblock_user{"vader"},
      proto::logout_request{},
      proto::activity{},
      proto::private_listen{40123},
      proto::private_request{"luke"},
      proto::private_answer{"yoda", 1},
      proto::stored_received{42},
      proto::private_invite{"luke", sample_key()},
      proto::private_consent{"yoda", sample_key(100)},
      proto::resume_session{"yoda", sample_key(7)},
  };
}

proto::presence_batch sample_presence_batch() {
  proto::presence_batch batch;
  batch.changes.items = {proto::presence{"luke", 1}, proto::presence{"leia", 0}};
  return batch;
}

// One valid instance of every server message, in variant order.
std::vector<proto::server_message> sample_server_messages() {
  proto::user_list list;
  list.query = proto::user_query::whoelsesince;
  list.names.items = {"luke", "leia", "han"};
  list.final_chunk = 1;
  return {
      proto::server_hello{},
      proto::login_reply{proto::login_result::welcome},
      proto::delivery{"luke", "héllo", proto::delivery_kind::offline},
      proto::presence{"leia", 1},
      proto::command_reply{proto::outcome::already_blocked, "vader"},
      list,
      proto::session_end{proto::end_reason::inactivity},
      proto::private_offer{"yoda"},
      proto::private_expect{"yoda", sample_token},
      proto::private_granted{"luke", "127.0.0.1", 40123, sample_token},
      proto::private_declined{"luke"},
      proto::stored_message{42, "luke", "while you were out", 1'700'000'000'000},
      proto::stored_end{},
      proto::private_expect_from{"yoda", sample_token, "127.0.0.1"},
      sample_presence_batch(),
      proto::private_expect_keyed{"yoda", sample_token, "127.0.0.1", sample_key()},
      proto::private_granted_keyed{"luke", "127.0.0.1", 40123, sample_token, sample_key(100)},
      proto::session_ticket{sample_key(9)},
      proto::resume_reply{proto::resume_result::relogged},
  };
}

// One valid instance of every peer-to-peer message, in variant order.
std::vector<proto::p2p_message> sample_p2p_messages() {
  return {
      proto::p2p_hello{proto::protocol_version, "yoda", sample_token},
      proto::p2p_accept{},
      proto::p2p_text{"Do or do not ✓"},
      proto::p2p_stop{},
      proto::p2p_open{proto::protocol_version, sample_key(1), sample_key(40)},
      proto::p2p_challenge{sample_key(2), sample_key(50)},
      proto::p2p_proof_message{sample_key(3), sample_header(60), sample_key(70)},
      proto::p2p_ready{sample_header(80), sample_key(90)},
  };
}

std::string body_of(const std::string& frame) { return frame.substr(proto::frame_header_bytes); }

// Writes a body by hand, little-endian as the encoder does, to build inputs the encoder refuses
// to produce.
class body_writer {
 public:
  explicit body_writer(std::int32_t variant_index, std::uint8_t endianness_flag = 1) {
    u8(endianness_flag);
    i32(variant_index);
  }
  body_writer& u8(std::uint8_t v) {
    bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  body_writer& u16(std::uint16_t v) { return little_endian(v, 2); }
  body_writer& i32(std::int32_t v) { return little_endian(static_cast<std::uint32_t>(v), 4); }
  body_writer& u64(std::uint64_t v) { return little_endian(v, 8); }
  body_writer& raw(std::string_view v) {
    bytes_.append(v);
    return *this;
  }
  // A string as cereal writes it: u64 size tag, then the bytes.
  body_writer& str(std::string_view v) { return u64(v.size()).raw(v); }
  const std::string& bytes() const { return bytes_; }

 private:
  body_writer& little_endian(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
};

// Wire tags (variant indexes) used by the hand-written bodies.
constexpr std::int32_t tag_login_name = 1;
constexpr std::int32_t tag_direct_message = 3;
constexpr std::int32_t tag_broadcast_message = 4;
constexpr std::int32_t tag_who_else = 5;
constexpr std::int32_t tag_login_reply = 1;
constexpr std::int32_t tag_delivery = 2;
constexpr std::int32_t tag_presence = 3;
constexpr std::int32_t tag_command_reply = 4;
constexpr std::int32_t tag_user_list = 5;
constexpr std::int32_t tag_session_end = 6;
constexpr std::int32_t tag_private_listen = 11;
constexpr std::int32_t tag_private_request = 12;
constexpr std::int32_t tag_private_answer = 13;
constexpr std::int32_t tag_private_offer = 7;
constexpr std::int32_t tag_private_expect = 8;
constexpr std::int32_t tag_private_granted = 9;
constexpr std::int32_t tag_private_declined = 10;
constexpr std::int32_t tag_private_expect_from = 13;
constexpr std::int32_t tag_private_invite = 15;
constexpr std::int32_t tag_private_consent = 16;
constexpr std::int32_t tag_private_expect_keyed = 15;
constexpr std::int32_t tag_private_granted_keyed = 16;
constexpr std::int32_t tag_resume_session = 17;
constexpr std::int32_t tag_session_ticket = 17;
constexpr std::int32_t tag_resume_reply = 18;
constexpr std::int32_t tag_p2p_hello = 0;
constexpr std::int32_t tag_p2p_text = 2;

std::string client_error(std::string_view body) {
  const auto result = proto::decode_client(body);
  return result.message ? std::string() : result.error;
}

std::string server_error(std::string_view body) {
  const auto result = proto::decode_server(body);
  return result.message ? std::string() : result.error;
}

std::string p2p_error(std::string_view body) {
  const auto result = proto::decode_p2p(body);
  return result.message ? std::string() : result.error;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr std::uint64_t two_to_the_63 = std::uint64_t{1} << 63;
constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t one_gib = std::uint64_t{1} << 30;

}  // namespace

TEST_CASE("the samples cover every message of both variants") {
  std::set<std::size_t> client_tags, server_tags;
  for (const auto& m : sample_client_messages()) client_tags.insert(m.index());
  for (const auto& m : sample_server_messages()) server_tags.insert(m.index());
  std::set<std::size_t> p2p_tags;
  for (const auto& m : sample_p2p_messages()) p2p_tags.insert(m.index());
  CHECK(client_tags.size() == std::variant_size_v<proto::client_message>);
  CHECK(server_tags.size() == std::variant_size_v<proto::server_message>);
  CHECK(p2p_tags.size() == std::variant_size_v<proto::p2p_message>);
}

TEST_CASE("every client message round-trips") {
  for (const auto& message : sample_client_messages()) {
    CAPTURE(message.index());
    const auto frame = proto::encode_frame(message);
    REQUIRE(frame.size() > proto::frame_header_bytes);
    const auto length =
        proto::read_frame_length(reinterpret_cast<const unsigned char*>(frame.data()));
    CHECK(length == frame.size() - proto::frame_header_bytes);
    const auto decoded = proto::decode_client(body_of(frame));
    REQUIRE_MESSAGE(decoded.message.has_value(), decoded.error);
    CHECK(decoded.error.empty());
    CHECK(*decoded.message == message);
  }
}

TEST_CASE("every server message round-trips") {
  for (const auto& message : sample_server_messages()) {
    CAPTURE(message.index());
    const auto frame = proto::encode_frame(message);
    const auto length =
        proto::read_frame_length(reinterpret_cast<const unsigned char*>(frame.data()));
    CHECK(length == frame.size() - proto::frame_header_bytes);
    const auto decoded = proto::decode_server(body_of(frame));
    REQUIRE_MESSAGE(decoded.message.has_value(), decoded.error);
    CHECK(*decoded.message == message);
    // make_frame shares the same bytes.
    CHECK(*proto::make_frame(message) == frame);
  }
}

TEST_CASE("every enum value round-trips") {
  for (int v = 0; v <= static_cast<int>(proto::login_result::last); ++v) {
    const proto::server_message m = proto::login_reply{static_cast<proto::login_result>(v)};
    CHECK(*proto::decode_server(body_of(proto::encode_frame(m))).message == m);
  }
  for (int v = 0; v <= static_cast<int>(proto::outcome::last); ++v) {
    const proto::server_message m = proto::command_reply{static_cast<proto::outcome>(v), {}};
    CHECK(*proto::decode_server(body_of(proto::encode_frame(m))).message == m);
  }
  for (int v = 0; v <= static_cast<int>(proto::end_reason::last); ++v) {
    const proto::server_message m = proto::session_end{static_cast<proto::end_reason>(v)};
    CHECK(*proto::decode_server(body_of(proto::encode_frame(m))).message == m);
  }
  for (int v = 0; v <= static_cast<int>(proto::delivery_kind::last); ++v) {
    const proto::server_message m =
        proto::delivery{"luke", "hi", static_cast<proto::delivery_kind>(v)};
    CHECK(*proto::decode_server(body_of(proto::encode_frame(m))).message == m);
  }
}

TEST_CASE("the wire format is pinned: login_name{yoda}") {
  // [u32 BE length = 17][flag 1][i32 LE tag 1][u64 LE size 4]["yoda"]
  const std::string expected(
      "\x00\x00\x00\x11"
      "\x01"
      "\x01\x00\x00\x00"
      "\x04\x00\x00\x00\x00\x00\x00\x00"
      "yoda",
      21);
  CHECK(proto::encode_frame(proto::client_message{proto::login_name{"yoda"}}) == expected);
  CHECK(body_of(expected) == body_writer(tag_login_name).str("yoda").bytes());
}

TEST_CASE("a chat key is 32 bytes as they are, no size tag, and a short one is refused") {
  const auto key = sample_key();
  const std::string key_bytes(reinterpret_cast<const char*>(key.data()), key.size());
  CHECK(body_of(proto::encode_frame(proto::client_message{proto::private_invite{"luke", key}})) ==
        body_writer(tag_private_invite).str("luke").raw(key_bytes).bytes());
  CHECK(body_of(proto::encode_frame(proto::client_message{proto::private_consent{"yoda", key}})) ==
        body_writer(tag_private_consent).str("yoda").raw(key_bytes).bytes());
  CHECK(body_of(proto::encode_frame(proto::server_message{proto::private_expect_keyed{
            "yoda", sample_token, "127.0.0.1", key}})) == body_writer(tag_private_expect_keyed)
                                                              .str("yoda")
                                                              .str(sample_token)
                                                              .str("127.0.0.1")
                                                              .raw(key_bytes)
                                                              .bytes());
  CHECK(body_of(proto::encode_frame(proto::server_message{
            proto::private_granted_keyed{"luke", "127.0.0.1", 40123, sample_token, key}})) ==
        body_writer(tag_private_granted_keyed)
            .str("luke")
            .str("127.0.0.1")
            .u16(40123)
            .str(sample_token)
            .raw(key_bytes)
            .bytes());
  // One byte short, or one too many: refused.
  CHECK_FALSE(
      client_error(body_writer(tag_private_invite).str("luke").raw(key_bytes.substr(1)).bytes())
          .empty());
  CHECK_FALSE(
      client_error(body_writer(tag_private_consent).str("yoda").raw(key_bytes + "x").bytes())
          .empty());
  // The names and the grant's fields are held to the unkeyed messages' rules.
  CHECK(contains(client_error(body_writer(tag_private_invite).str("a b").raw(key_bytes).bytes()),
                 "not a valid user name"));
  CHECK(contains(server_error(body_writer(tag_private_granted_keyed)
                                  .str("luke")
                                  .str("127.0.0.1")
                                  .u16(0)
                                  .str(sample_token)
                                  .raw(key_bytes)
                                  .bytes()),
                 "port"));
  CHECK(contains(server_error(body_writer(tag_private_expect_keyed)
                                  .str("yoda")
                                  .str("ABC")
                                  .str("127.0.0.1")
                                  .raw(key_bytes)
                                  .bytes()),
                 "token"));
}

TEST_CASE("a resume ticket is 32 bytes as they are, the reply one byte, both pinned") {
  const auto ticket = sample_key(7);
  const std::string ticket_bytes(reinterpret_cast<const char*>(ticket.data()), ticket.size());
  CHECK(
      body_of(proto::encode_frame(proto::client_message{proto::resume_session{"yoda", ticket}})) ==
      body_writer(tag_resume_session).str("yoda").raw(ticket_bytes).bytes());
  CHECK(body_of(proto::encode_frame(proto::server_message{proto::session_ticket{ticket}})) ==
        body_writer(tag_session_ticket).raw(ticket_bytes).bytes());
  CHECK(body_of(proto::encode_frame(proto::server_message{proto::resume_reply{
            proto::resume_result::not_resumable}})) == body_writer(tag_resume_reply).u8(2).bytes());
  // One byte short, or one too many, or a bad name: refused.
  CHECK_FALSE(
      client_error(body_writer(tag_resume_session).str("yoda").raw(ticket_bytes.substr(1)).bytes())
          .empty());
  CHECK_FALSE(
      server_error(body_writer(tag_session_ticket).raw(ticket_bytes + "x").bytes()).empty());
  CHECK(contains(client_error(body_writer(tag_resume_session).str("a b").raw(ticket_bytes).bytes()),
                 "not a valid user name"));
  for (const std::uint8_t bad : {std::uint8_t{3}, std::uint8_t{0xff}})
    CHECK(contains(server_error(body_writer(tag_resume_reply).u8(bad).bytes()), "unknown result"));
  for (int v = 0; v <= static_cast<int>(proto::resume_result::last); ++v) {
    const proto::server_message m = proto::resume_reply{static_cast<proto::resume_result>(v)};
    CHECK(*proto::decode_server(body_of(proto::encode_frame(m))).message == m);
  }
}

TEST_CASE("a big-endian body (flag 0) decodes to the same message") {
  // cereal's portable archive swaps on load when the flag says big-endian.
  const std::string body(
      "\x00"
      "\x00\x00\x00\x01"
      "\x00\x00\x00\x00\x00\x00\x00\x04"
      "yoda",
      17);
  const auto decoded = proto::decode_client(body);
  REQUIRE_MESSAGE(decoded.message.has_value(), decoded.error);
  CHECK(*decoded.message == proto::client_message{proto::login_name{"yoda"}});
}

TEST_CASE("a full user_list (1024 names of 32 bytes) fits in one frame") {
  proto::user_list list;
  list.names.items.assign(proto::max_names_per_list, std::string(proto::max_name_bytes, 'n'));
  const proto::server_message message = list;
  const auto frame = proto::encode_frame(message);
  CHECK(frame.size() - proto::frame_header_bytes <= proto::max_frame_body);
  const auto decoded = proto::decode_server(body_of(frame));
  REQUIRE_MESSAGE(decoded.message.has_value(), decoded.error);
  CHECK(*decoded.message == message);
}

TEST_CASE("a full presence_batch (1024 changes, 32-byte names) fits in one frame") {
  proto::presence_batch batch;
  batch.changes.items.assign(proto::max_presence_per_batch,
                             proto::presence{std::string(proto::max_name_bytes, 'n'), 1});
  const proto::server_message message = batch;
  const auto frame = proto::encode_frame(message);
  CHECK(frame.size() - proto::frame_header_bytes <= proto::max_frame_body);
  const auto decoded = proto::decode_server(body_of(frame));
  REQUIRE_MESSAGE(decoded.message.has_value(), decoded.error);
  CHECK(*decoded.message == message);
}

TEST_CASE("a presence_batch that is empty, or holds a bad change, is refused") {
  CHECK(proto::validate(proto::server_message{proto::presence_batch{}}));
  proto::presence_batch bad_name = sample_presence_batch();
  bad_name.changes.items.push_back(proto::presence{"two words", 1});
  CHECK(proto::validate(proto::server_message{bad_name}));
  proto::presence_batch bad_flag = sample_presence_batch();
  bad_flag.changes.items.push_back(proto::presence{"han", 2});
  CHECK(proto::validate(proto::server_message{bad_flag}));
  CHECK_FALSE(proto::validate(proto::server_message{sample_presence_batch()}));
}

TEST_CASE("a maximal text (4096 bytes) round-trips") {
  const proto::client_message message =
      proto::direct_message{"luke", std::string(proto::max_text_bytes, 'x')};
  const auto decoded = proto::decode_client(body_of(proto::encode_frame(message)));
  REQUIRE_MESSAGE(decoded.message.has_value(), decoded.error);
  CHECK(*decoded.message == message);
}

TEST_CASE("truncation at every byte offset is an error, never an exception") {
  for (const auto& message : sample_client_messages()) {
    const auto body = body_of(proto::encode_frame(message));
    for (std::size_t cut = 0; cut < body.size(); ++cut) {
      CAPTURE(message.index());
      CAPTURE(cut);
      proto::decoded<proto::client_message> result;
      CHECK_NOTHROW(result = proto::decode_client(std::string_view(body).substr(0, cut)));
      CHECK_FALSE(result.message.has_value());
      CHECK_FALSE(result.error.empty());
    }
  }
  for (const auto& message : sample_server_messages()) {
    const auto body = body_of(proto::encode_frame(message));
    for (std::size_t cut = 0; cut < body.size(); ++cut) {
      CAPTURE(message.index());
      CAPTURE(cut);
      proto::decoded<proto::server_message> result;
      CHECK_NOTHROW(result = proto::decode_server(std::string_view(body).substr(0, cut)));
      CHECK_FALSE(result.message.has_value());
      CHECK_FALSE(result.error.empty());
    }
  }
}

TEST_CASE("trailing bytes are refused") {
  for (const auto& message : sample_client_messages()) {
    CAPTURE(message.index());
    CHECK(contains(client_error(body_of(proto::encode_frame(message)) + '\0'), "trailing"));
  }
  for (const auto& message : sample_server_messages()) {
    CAPTURE(message.index());
    CHECK(contains(server_error(body_of(proto::encode_frame(message)) + "xyz"), "trailing"));
  }
}

TEST_CASE("the empty body and a body over the frame bound are refused") {
  CHECK_FALSE(client_error("").empty());
  CHECK_FALSE(server_error("").empty());
  const std::string huge(proto::max_frame_body + 1, '\x01');
  CHECK(contains(client_error(huge), "bound"));
  CHECK(contains(server_error(huge), "bound"));
}

TEST_CASE("an endianness flag other than 0 or 1 is refused") {
  for (const std::uint8_t flag : {std::uint8_t{2}, std::uint8_t{0x7f}, std::uint8_t{0xff}}) {
    CAPTURE(int{flag});
    CHECK(contains(client_error(body_writer(tag_who_else, flag).bytes()), "header"));
    CHECK(contains(server_error(body_writer(tag_session_end, flag).u8(0).bytes()), "header"));
  }
}

TEST_CASE("an unknown variant index is refused") {
  const auto client_size = static_cast<std::int32_t>(std::variant_size_v<proto::client_message>);
  const auto server_size = static_cast<std::int32_t>(std::variant_size_v<proto::server_message>);
  for (const std::int32_t tag :
       {client_size, client_size + 1, -1, -2, std::numeric_limits<std::int32_t>::min(),
        std::numeric_limits<std::int32_t>::max()}) {
    CAPTURE(tag);
    CHECK_FALSE(client_error(body_writer(tag).bytes()).empty());
  }
  for (const std::int32_t tag : {server_size, -1, std::numeric_limits<std::int32_t>::min(),
                                 std::numeric_limits<std::int32_t>::max()}) {
    CAPTURE(tag);
    CHECK_FALSE(server_error(body_writer(tag).bytes()).empty());
  }
}

TEST_CASE("string size tags past the bound are refused before allocating") {
  const std::uint64_t name_over = proto::max_name_bytes + 1;
  // A name of 33 bytes, all present.
  CHECK(contains(
      client_error(
          body_writer(tag_login_name).u64(name_over).raw(std::string(name_over, 'a')).bytes()),
      "bound"));
  for (const std::uint64_t size :
       {std::uint64_t{proto::max_text_bytes + 1}, one_gib, two_to_the_63, max_u64}) {
    CAPTURE(size);
    CHECK(contains(client_error(body_writer(tag_login_name).u64(size).bytes()), "bound"));
    CHECK(contains(client_error(body_writer(tag_broadcast_message).u64(size).bytes()), "bound"));
    CHECK(contains(
        client_error(body_writer(tag_direct_message).str("luke").u64(size).raw("hi").bytes()),
        "bound"));
    CHECK(contains(server_error(body_writer(tag_delivery).str("luke").u64(size).bytes()), "bound"));
  }
}

TEST_CASE("vector size tags past the bound are refused before allocating") {
  for (const std::uint64_t size :
       {std::uint64_t{proto::max_names_per_list + 1}, one_gib, two_to_the_63, max_u64}) {
    CAPTURE(size);
    CHECK(contains(server_error(body_writer(tag_user_list).u8(0).u64(size).bytes()), "bound"));
  }
}

TEST_CASE("a tiny body claiming a 1 GiB string fails fast") {
  // 25 bytes: flag, tag, "luke", then a text that claims 1 GiB.
  const auto body = body_writer(tag_direct_message).str("luke").u64(one_gib).bytes();
  const auto start = std::chrono::steady_clock::now();
  const auto error = client_error(body);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(contains(error, "longer than its bound"));
  // Allocating and zeroing 1 GiB takes far longer than this.
  CHECK(elapsed < std::chrono::milliseconds(100));
}

TEST_CASE("enum values out of range are refused") {
  const auto login_over = static_cast<std::uint8_t>(proto::login_result::last) + 1;
  const auto outcome_over = static_cast<std::uint8_t>(proto::outcome::last) + 1;
  const auto reason_over = static_cast<std::uint8_t>(proto::end_reason::last) + 1;
  const auto kind_over = static_cast<std::uint8_t>(proto::delivery_kind::last) + 1;
  const auto query_over = static_cast<std::uint8_t>(proto::user_query::last) + 1;
  for (const std::uint8_t high : {std::uint8_t{0}, std::uint8_t{0xff}}) {
    CAPTURE(int{high});
    const auto over = [high](int v) { return static_cast<std::uint8_t>(high ? high : v); };
    CHECK(contains(server_error(body_writer(tag_login_reply).u8(over(login_over)).bytes()),
                   "unknown result"));
    CHECK(contains(
        server_error(body_writer(tag_command_reply).u8(over(outcome_over)).str("").bytes()),
        "unknown outcome"));
    CHECK(contains(server_error(body_writer(tag_session_end).u8(over(reason_over)).bytes()),
                   "unknown reason"));
    CHECK(contains(
        server_error(body_writer(tag_delivery).str("luke").str("hi").u8(over(kind_over)).bytes()),
        "unknown kind"));
    CHECK(
        contains(server_error(body_writer(tag_user_list).u8(over(query_over)).u64(0).u8(1).bytes()),
                 "unknown query"));
  }
  // The highest valid value of each is accepted by the same hand-written bodies.
  CHECK(server_error(body_writer(tag_login_reply).u8(login_over - 1).bytes()).empty());
  CHECK(server_error(body_writer(tag_session_end).u8(reason_over - 1).bytes()).empty());
}

TEST_CASE("flag bytes other than 0 or 1 are refused") {
  for (const std::uint8_t flag : {std::uint8_t{2}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
    CAPTURE(int{flag});
    CHECK(contains(server_error(body_writer(tag_presence).str("leia").u8(flag).bytes()),
                   "not 0 or 1"));
    CHECK(contains(server_error(body_writer(tag_user_list).u8(0).u64(0).u8(flag).bytes()),
                   "not 0 or 1"));
  }
  CHECK(server_error(body_writer(tag_presence).str("leia").u8(0).bytes()).empty());
  CHECK(server_error(body_writer(tag_user_list).u8(0).u64(0).u8(0).bytes()).empty());
}

TEST_CASE("invalid names are refused wherever a name travels") {
  const std::vector<std::string> bad_names = {
      "",                                          // empty
      "luke skywalker",                            // space
      std::string("lu\x01ke"),                     // control
      "luke\x7f",                                  // DEL
      "l\xc3\xbcke",                               // not ASCII
      std::string(proto::max_name_bytes + 1, 'a')  // 33 bytes (within the wire bound check)
  };
  for (const auto& name : bad_names) {
    CAPTURE(name);
    const auto within_bound = name.size() <= proto::max_name_bytes;
    const auto expect = within_bound ? std::string_view("not a valid user name") : "bound";
    CHECK(contains(client_error(body_writer(tag_login_name).str(name).bytes()), expect));
    CHECK(contains(client_error(body_writer(tag_direct_message).str(name).str("hi").bytes()),
                   expect));
    CHECK(contains(client_error(body_writer(7).str(name).bytes()), expect));  // block_user
    CHECK(contains(client_error(body_writer(8).str(name).bytes()), expect));  // unblock_user
    CHECK(contains(server_error(body_writer(tag_delivery).str(name).str("hi").u8(0).bytes()),
                   expect));
    CHECK(contains(server_error(body_writer(tag_presence).str(name).u8(1).bytes()), expect));
    CHECK(contains(server_error(body_writer(tag_user_list).u8(0).u64(1).str(name).u8(1).bytes()),
                   expect));
    if (!name.empty()) {
      CHECK(contains(server_error(body_writer(tag_command_reply).u8(0).str(name).bytes()), expect));
    }
  }
  // command_reply's subject may be empty: not every outcome names a user.
  CHECK(server_error(body_writer(tag_command_reply).u8(0).str("").bytes()).empty());
  // 32 visible characters is the longest valid name.
  CHECK(client_error(body_writer(tag_login_name).str(std::string(32, '~')).bytes()).empty());
}

TEST_CASE("texts must be non-empty, well-formed UTF-8") {
  const std::vector<std::string> bad_texts = {
      "",                  // empty
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, three bytes
      "\xed\xa0\x80",      // surrogate U+D800
      "\xf4\x90\x80\x80",  // U+110000, past the last code point
      "abc\xe2\x9c",       // truncated sequence at the end
      "\xe2\x9c"
      "abc",   // truncated sequence in the middle
      "\x80",  // lone continuation byte
      "\xff",  // never valid in UTF-8
  };
  for (const auto& text : bad_texts) {
    CAPTURE(text);
    CHECK(contains(client_error(body_writer(tag_broadcast_message).str(text).bytes()), "text"));
    CHECK(contains(client_error(body_writer(tag_direct_message).str("luke").str(text).bytes()),
                   "text"));
    CHECK(contains(server_error(body_writer(tag_delivery).str("luke").str(text).u8(0).bytes()),
                   "text"));
  }
  // Control characters are allowed in texts (the peer escapes them when printing).
  CHECK(client_error(body_writer(tag_broadcast_message).str("a\x1b[2Jb").bytes()).empty());
  CHECK(client_error(body_writer(tag_broadcast_message).str("\xf4\x8f\xbf\xbf").bytes()).empty());
}

TEST_CASE("hello agent and login password refuse control characters") {
  CHECK_FALSE(client_error(body_writer(0).u16(1).str("peer\n").bytes()).empty());
  CHECK_FALSE(client_error(body_writer(0).u16(1).str("\xff").bytes()).empty());
  CHECK(client_error(body_writer(0).u16(1).str("").bytes()).empty());
  CHECK_FALSE(client_error(body_writer(2).str("pass\x1bword").bytes()).empty());
  CHECK_FALSE(client_error(body_writer(2).str("\xc0\xaf").bytes()).empty());
  // An empty password decodes: whether it is acceptable is the registry's decision.
  CHECK(client_error(body_writer(2).str("").bytes()).empty());
}

TEST_CASE("encode refuses a message that breaks its own bounds") {
  using client = proto::client_message;
  using server = proto::server_message;
  const std::string long_name(proto::max_name_bytes + 1, 'a');
  CHECK_THROWS_AS(proto::encode_frame(client{proto::login_name{long_name}}), std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(client{proto::login_name{"two words"}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(client{
                      proto::direct_message{"luke", std::string(proto::max_text_bytes + 1, 'x')}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(client{proto::broadcast_message{""}}), std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(client{
                      proto::login_password{std::string(proto::max_password_bytes + 1, 'p')}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(
                      client{proto::client_hello{1, std::string(proto::max_agent_bytes + 1, 'a')}}),
                  std::invalid_argument);
  proto::user_list too_many;
  too_many.names.items.assign(proto::max_names_per_list + 1, "luke");
  CHECK_THROWS_AS(proto::encode_frame(server{too_many}), std::invalid_argument);
  CHECK_THROWS_AS(proto::make_frame(server{proto::presence{"leia", 2}}), std::invalid_argument);
  CHECK_THROWS_AS(
      proto::encode_frame(server{proto::session_end{static_cast<proto::end_reason>(99)}}),
      std::invalid_argument);
}

TEST_CASE("make_delivery_frame writes exactly the codec's bytes, and refuses what it refuses") {
  using server = proto::server_message;
  const std::string maximal_text(proto::max_text_bytes, 'x');
  const std::string maximal_name(proto::max_name_bytes, 'n');
  struct sample {
    std::string from;
    std::string text;
    proto::delivery_kind kind;
  };
  const std::vector<sample> samples{
      {"yoda", "hi", proto::delivery_kind::direct},
      {"luke", "caf\xc3\xa9 \xe2\x9c\x93 and tabs\t", proto::delivery_kind::broadcast},
      {"l", "x", proto::delivery_kind::offline},
      {maximal_name, maximal_text, proto::delivery_kind::direct},
  };
  for (const auto& [from, text, kind] : samples) {
    CAPTURE(from);
    const auto direct = proto::make_delivery_frame(from, text, kind);
    const auto via_codec = proto::make_frame(server{proto::delivery{from, text, kind}});
    REQUIRE(direct != nullptr);
    CHECK(*direct == *via_codec);
    // And it decodes back to the same delivery.
    const auto decoded = proto::decode_server(std::string_view(*direct).substr(4));
    REQUIRE(decoded.message);
    CHECK(*decoded.message == server{proto::delivery{from, text, kind}});
  }
  const auto refused = [](std::string from, std::string text, proto::delivery_kind kind) {
    CHECK_THROWS_AS(proto::make_frame(server{proto::delivery{from, text, kind}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(proto::make_delivery_frame(from, text, kind), std::invalid_argument);
  };
  refused(maximal_name + "n", "hi", proto::delivery_kind::direct);
  refused("two words", "hi", proto::delivery_kind::direct);
  refused("yoda", "", proto::delivery_kind::direct);
  refused("yoda", maximal_text + "x", proto::delivery_kind::direct);
  refused("yoda", "\xc3", proto::delivery_kind::direct);
  refused("yoda", "hi", static_cast<proto::delivery_kind>(9));
}

TEST_CASE(
    "direct and broadcast bodies, mutated anywhere, decode to a message that encodes back to them "
    "or not at all") {
  // decode_client reads these two messages on a fast path of its own; whatever it accepts must
  // be exactly what the encoder writes for the message it returns.
  using client = proto::client_message;
  const std::vector<client> messages{client{proto::direct_message{"luke", "hello there"}},
                                     client{proto::direct_message{"l", "caf\xc3\xa9"}},
                                     client{proto::broadcast_message{"to everyone"}}};
  for (const auto& message : messages) {
    const auto frame = proto::encode_frame(message);
    const std::string body = frame.substr(proto::frame_header_bytes);
    const auto decoded = proto::decode_client(body);
    REQUIRE(decoded.message);
    CHECK(*decoded.message == message);
    for (std::size_t at = 0; at < body.size(); ++at) {
      for (const unsigned char value : {0x00, 0x01, 0x02, 0x20, 0x7f, 0x80, 0xc3, 0xff}) {
        std::string mutated = body;
        mutated[at] = static_cast<char>(value);
        CAPTURE(at);
        CAPTURE(int{value});
        const auto result = proto::decode_client(mutated);
        if (result.message) {
          CHECK(proto::encode_frame(*result.message).substr(proto::frame_header_bytes) == mutated);
        } else {
          CHECK_FALSE(result.error.empty());
        }
      }
    }
  }
}

TEST_CASE("frame length helpers are big-endian and inverse") {
  for (const std::uint32_t length : {0u, 1u, 0x11u, 0x01020304u, 0x00010000u, 0xffffffffu}) {
    CAPTURE(length);
    char header[proto::frame_header_bytes];
    proto::write_frame_length(header, length);
    CHECK(proto::read_frame_length(reinterpret_cast<const unsigned char*>(header)) == length);
  }
  char header[proto::frame_header_bytes];
  proto::write_frame_length(header, 0x01020304u);
  CHECK(std::string_view(header, sizeof header) == std::string_view("\x01\x02\x03\x04", 4));
  const unsigned char max_body[] = {0x00, 0x01, 0x00, 0x00};
  CHECK(proto::read_frame_length(max_body) == proto::max_frame_body);
}

// ---------------------------------------------------------------- private chats (SPEC 8)

TEST_CASE("every peer-to-peer message round-trips") {
  for (const auto& message : sample_p2p_messages()) {
    CAPTURE(message.index());
    const auto frame = proto::encode_frame(message);
    const auto decoded = proto::decode_p2p(body_of(frame));
    REQUIRE_MESSAGE(decoded.message.has_value(), decoded.error);
    CHECK(*decoded.message == message);
  }
}

TEST_CASE("the wire format is pinned: p2p_hello") {
  // [flag 1][i32 LE tag 0][u16 LE version][u64 LE size 4]["yoda"][u64 LE size 32][token]
  const auto expected =
      body_writer(tag_p2p_hello).u16(proto::protocol_version).str("yoda").str(sample_token);
  CHECK(body_of(proto::encode_frame(proto::p2p_message{
            proto::p2p_hello{proto::protocol_version, "yoda", sample_token}})) == expected.bytes());
}

TEST_CASE("the wire format is pinned: p2p_open, fixed-size fields without size tags") {
  // [flag 1][i32 LE tag 4][u16 LE version][32 key bytes][32 commitment bytes]: 71 bytes
  const auto key = sample_key(1);
  const auto commitment = sample_key(40);
  const auto expected =
      body_writer(4)
          .u16(proto::protocol_version)
          .raw({reinterpret_cast<const char*>(key.data()), key.size()})
          .raw({reinterpret_cast<const char*>(commitment.data()), commitment.size()});
  const auto body = body_of(proto::encode_frame(
      proto::p2p_message{proto::p2p_open{proto::protocol_version, key, commitment}}));
  CHECK(body == expected.bytes());
  CHECK(body.size() == 71);
}

TEST_CASE("peer-to-peer bodies: truncation, trailing bytes and unknown tags are refused") {
  for (const auto& message : sample_p2p_messages()) {
    const auto body = body_of(proto::encode_frame(message));
    CAPTURE(message.index());
    for (std::size_t cut = 0; cut < body.size(); ++cut) {
      CAPTURE(cut);
      proto::decoded<proto::p2p_message> result;
      CHECK_NOTHROW(result = proto::decode_p2p(std::string_view(body).substr(0, cut)));
      CHECK_FALSE(result.message.has_value());
      CHECK_FALSE(result.error.empty());
    }
    CHECK(contains(p2p_error(body + '\0'), "trailing"));
  }
  const auto p2p_size = static_cast<std::int32_t>(std::variant_size_v<proto::p2p_message>);
  for (const std::int32_t tag : {p2p_size, -1, std::numeric_limits<std::int32_t>::max()}) {
    CAPTURE(tag);
    CHECK_FALSE(p2p_error(body_writer(tag).bytes()).empty());
  }
  CHECK_FALSE(p2p_error("").empty());
  CHECK(contains(p2p_error(body_writer(tag_p2p_text, 2).str("hi").bytes()), "header"));
}

TEST_CASE("a hello must carry a well-formed token and user name") {
  const auto hello = [](std::string_view from, std::string_view token) {
    return p2p_error(body_writer(tag_p2p_hello).u16(1).str(from).str(token).bytes());
  };
  CHECK(hello("yoda", sample_token).empty());
  const std::vector<std::string> bad_tokens = {
      "",                                  // none
      "0123456789abcdef0123456789abcde",   // 31 digits
      "0123456789ABCDEF0123456789ABCDEF",  // upper case
      "0123456789abcdef0123456789abcdeg",  // not hex
      "0123456789abcdef 123456789abcdef",  // a space
      std::string("0123456789abcdef\0"
                  "123456789abcdef",
                  32),  // a NUL
  };
  for (const auto& token : bad_tokens) {
    CAPTURE(token);
    CHECK(contains(hello("yoda", token), "token"));
  }
  // 33 digits: past the token's bound, refused by its size tag.
  CHECK(contains(hello("yoda", std::string(33, 'a')), "bound"));
  CHECK(contains(hello("luke skywalker", sample_token), "not a valid user name"));
  CHECK(contains(hello("", sample_token), "not a valid user name"));
}

TEST_CASE("peer-to-peer size tags past their bound are refused before allocating") {
  for (const std::uint64_t size : {std::uint64_t{proto::max_text_bytes + 1}, one_gib, max_u64}) {
    CAPTURE(size);
    CHECK(contains(p2p_error(body_writer(tag_p2p_text).u64(size).bytes()), "bound"));
    CHECK(contains(p2p_error(body_writer(tag_p2p_hello).u16(1).str("yoda").u64(size).bytes()),
                   "bound"));
    CHECK(contains(p2p_error(body_writer(tag_p2p_hello).u16(1).u64(size).bytes()), "bound"));
  }
}

TEST_CASE("a private text must be non-empty, well-formed UTF-8") {
  CHECK(contains(p2p_error(body_writer(tag_p2p_text).str("").bytes()), "text"));
  CHECK(contains(p2p_error(body_writer(tag_p2p_text).str("\xc0\xaf").bytes()), "text"));
  CHECK(contains(p2p_error(body_writer(tag_p2p_text).str("abc\xe2\x9c").bytes()), "text"));
  // Control characters travel; the receiving peer escapes them when printing.
  CHECK(p2p_error(body_writer(tag_p2p_text).str("a\x1b[2Jb").bytes()).empty());
}

TEST_CASE("private-chat messages to and from the registry are validated") {
  // private_listen: port 0 is no port.
  CHECK(client_error(body_writer(tag_private_listen).u16(0).bytes()) != "");
  CHECK(client_error(body_writer(tag_private_listen).u16(65535).bytes()).empty());
  // private_request and private_answer name a user; the answer is a flag.
  CHECK(contains(client_error(body_writer(tag_private_request).str("a b").bytes()),
                 "not a valid user name"));
  CHECK(client_error(body_writer(tag_private_answer).str("yoda").u8(0).bytes()).empty());
  CHECK_FALSE(client_error(body_writer(tag_private_answer).str("yoda").u8(2).bytes()).empty());
  CHECK(contains(client_error(body_writer(tag_private_answer).str("").u8(1).bytes()),
                 "not a valid user name"));

  CHECK(contains(server_error(body_writer(tag_private_offer).str("lu ke").bytes()),
                 "not a valid user name"));
  CHECK(contains(server_error(body_writer(tag_private_declined).str("").bytes()),
                 "not a valid user name"));
  CHECK(contains(server_error(body_writer(tag_private_expect).str("yoda").str("ABC").bytes()),
                 "token"));
  CHECK(
      server_error(body_writer(tag_private_expect).str("yoda").str(sample_token).bytes()).empty());

  const auto granted = [](std::string_view address, std::uint16_t port, std::string_view token) {
    return server_error(
        body_writer(tag_private_granted).str("luke").str(address).u16(port).str(token).bytes());
  };
  CHECK(granted("127.0.0.1", 40123, sample_token).empty());
  CHECK(granted("::1", 40123, sample_token).empty());
  CHECK(granted("fe80::1%eth0", 40123, sample_token).empty());
  CHECK(contains(granted("127.0.0.1", 0, sample_token), "port"));
  CHECK(contains(granted("", 40123, sample_token), "address"));
  CHECK(contains(granted("127.0.0.1 ; rm -rf", 40123, sample_token), "address"));
  CHECK(contains(granted("\x1b[2J", 40123, sample_token), "address"));
  CHECK(contains(granted(std::string(proto::max_address_bytes + 1, '1'), 40123, sample_token),
                 "bound"));
  CHECK(contains(granted("127.0.0.1", 40123, "not-a-token"), "token"));

  // The requester's address, told to the target, is held to the same rules.
  const auto expect_from = [](std::string_view address, std::string_view token) {
    return server_error(
        body_writer(tag_private_expect_from).str("yoda").str(token).str(address).bytes());
  };
  CHECK(expect_from("127.0.0.1", sample_token).empty());
  CHECK(expect_from("2001:db8::7", sample_token).empty());
  CHECK(contains(expect_from("", sample_token), "address"));
  CHECK(contains(expect_from("1.2.3.4\n", sample_token), "address"));
  CHECK(
      contains(expect_from(std::string(proto::max_address_bytes + 1, '1'), sample_token), "bound"));
  CHECK(contains(expect_from("127.0.0.1", "ABC"), "token"));
}

TEST_CASE("encode refuses private-chat messages that break their own rules") {
  using client = proto::client_message;
  using server = proto::server_message;
  using p2p = proto::p2p_message;
  CHECK_THROWS_AS(proto::encode_frame(client{proto::private_listen{0}}), std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(client{proto::private_answer{"yoda", 7}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(server{proto::private_expect{"yoda", "short"}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      proto::encode_frame(server{proto::private_granted{"luke", "127.0.0.1", 0, sample_token}}),
      std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(p2p{proto::p2p_hello{1, "yoda", ""}}), std::invalid_argument);
  CHECK_THROWS_AS(proto::encode_frame(p2p{proto::p2p_text{""}}), std::invalid_argument);
  CHECK_THROWS_AS(
      proto::encode_frame(p2p{proto::p2p_text{std::string(proto::max_text_bytes + 1, 'x')}}),
      std::invalid_argument);
}

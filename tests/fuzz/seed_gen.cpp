// Writes the seed corpora of the fuzz targets: for each link (decode/: the registry link, both
// directions; p2p/: the private-chat link), one valid body of every message, made by the real
// encoder, plus hand-made hostile bodies that start the fuzzer next to the decoder's edges. Run it
// after a protocol change and commit the output:
//   build/parley_fuzz_seed_gen tests/fuzz/corpus
#include "shared/proto/codec.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace proto = parley::proto;

namespace {

using seed = std::pair<std::string, std::string>;  // file name, body

std::string body_of(const std::string& frame) { return frame.substr(proto::frame_header_bytes); }

// Little-endian fields, as the encoder writes them, for bodies the encoder refuses to make.
class body_writer {
 public:
  explicit body_writer(std::int32_t variant_index, std::uint8_t endianness_flag = 1) {
    bytes_.push_back(static_cast<char>(endianness_flag));
    little_endian(static_cast<std::uint32_t>(variant_index), 4);
  }
  body_writer& u8(std::uint8_t v) { return little_endian(v, 1); }
  body_writer& u16(std::uint16_t v) { return little_endian(v, 2); }
  body_writer& u64(std::uint64_t v) { return little_endian(v, 8); }
  body_writer& str(std::string_view v) {
    u64(v.size());
    bytes_.append(v);
    return *this;
  }
  std::string bytes() const { return bytes_; }

 private:
  body_writer& little_endian(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
};

// A well-formed private-chat token: 32 lowercase hex digits.
constexpr const char* sample_token = "0123456789abcdef0123456789abcdef";
// A chat key: 32 bytes, none of them a size tag.
// The peer-to-peer messages keep their own version (crypto::handshake_version, 3; p2p_hello is
// version 2's), apart from the registry protocol's.
constexpr std::uint16_t p2p_version = 3;
constexpr proto::chat_public_key sample_key = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                               12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                               23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

// A tag past the end of both registry-link variants.
constexpr auto registry_tag_past_end = static_cast<std::int32_t>(std::max(
    std::variant_size_v<proto::client_message>, std::variant_size_v<proto::server_message>));

std::vector<seed> valid_seeds() {
  proto::user_list list;
  list.query = proto::user_query::whoelse;
  list.names.items = {"luke", "leia", "han"};
  list.final_chunk = 0;
  const std::vector<std::pair<std::string, proto::client_message>> client = {
      {"client_hello", proto::client_hello{proto::protocol_version, "parley-peer/0.1"}},
      {"login_name", proto::login_name{"yoda"}},
      {"login_password", proto::login_password{"do-or-do-not"}},
      {"direct_message", proto::direct_message{"luke", "h\xc3\xa9llo \xe2\x9c\x93"}},
      {"broadcast_message", proto::broadcast_message{"hello\tall"}},
      {"who_else", proto::who_else{}},
      {"who_else_since", proto::who_else_since{300}},
      {"block_user", proto::block_user{"vader"}},
      {"unblock_user", proto::unblock_user{"vader"}},
      {"logout_request", proto::logout_request{}},
      {"activity", proto::activity{}},
      {"private_listen", proto::private_listen{40123}},
      {"private_request", proto::private_request{"luke"}},
      {"private_answer", proto::private_answer{"yoda", 1}},
      {"stored_received", proto::stored_received{42}},
      {"private_invite", proto::private_invite{"luke", sample_key}},
      {"private_consent", proto::private_consent{"yoda", sample_key}},
      {"resume_session", proto::resume_session{"yoda", sample_key}},
  };
  proto::presence_batch batch;
  batch.changes.items = {proto::presence{"luke", 1}, proto::presence{"leia", 0}};
  const std::vector<std::pair<std::string, proto::server_message>> server = {
      {"server_hello", proto::server_hello{}},
      {"login_reply", proto::login_reply{proto::login_result::invalid_password}},
      {"delivery", proto::delivery{"luke", "may the force", proto::delivery_kind::offline}},
      {"presence", proto::presence{"leia", 1}},
      {"command_reply", proto::command_reply{proto::outcome::blocked, "vader"}},
      {"user_list", list},
      {"session_end", proto::session_end{proto::end_reason::inactivity}},
      {"private_offer", proto::private_offer{"yoda"}},
      {"private_expect", proto::private_expect{"yoda", sample_token}},
      {"private_granted", proto::private_granted{"luke", "127.0.0.1", 40123, sample_token}},
      {"private_declined", proto::private_declined{"luke"}},
      {"private_expect_from", proto::private_expect_from{"yoda", sample_token, "127.0.0.1"}},
      {"presence_batch", batch},
      {"private_expect_keyed",
       proto::private_expect_keyed{"yoda", sample_token, "127.0.0.1", sample_key}},
      {"private_granted_keyed",
       proto::private_granted_keyed{"luke", "127.0.0.1", 40123, sample_token, sample_key}},
      {"session_ticket", proto::session_ticket{sample_key}},
      {"resume_reply", proto::resume_reply{proto::resume_result::resumed}},
  };
  std::vector<seed> seeds;
  for (const auto& [name, message] : client)
    seeds.emplace_back("client-" + std::to_string(message.index()) + "-" + name,
                       body_of(proto::encode_frame(message)));
  for (const auto& [name, message] : server)
    seeds.emplace_back("server-" + std::to_string(message.index()) + "-" + name,
                       body_of(proto::encode_frame(message)));
  return seeds;
}

std::vector<seed> hostile_seeds() {
  constexpr std::uint64_t one_gib = std::uint64_t{1} << 30;
  constexpr std::int32_t tag_login_name = 1;
  constexpr std::int32_t tag_direct_message = 3;
  constexpr std::int32_t tag_login_reply = 1;
  constexpr std::int32_t tag_user_list = 5;
  const auto login_name = body_writer(tag_login_name).str("yoda").bytes();
  return {
      {"hostile-truncated", login_name.substr(0, login_name.size() - 1)},
      {"hostile-trailing-byte", login_name + "!"},
      {"hostile-bad-endianness-flag", body_writer(tag_login_name, 2).str("yoda").bytes()},
      {"hostile-big-endian",
       std::string("\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04yoda", 17)},
      {"hostile-negative-tag", body_writer(-1).bytes()},
      {"hostile-tag-past-end", body_writer(registry_tag_past_end).bytes()},
      {"hostile-text-claims-1gib",
       body_writer(tag_direct_message).str("luke").u64(one_gib).bytes()},
      {"hostile-size-tag-max", body_writer(tag_login_name).u64(~std::uint64_t{0}).bytes()},
      {"hostile-list-claims-1gib", body_writer(tag_user_list).u8(0).u64(one_gib).bytes()},
      {"hostile-enum-out-of-range", body_writer(tag_login_reply).u8(0xff).bytes()},
      {"hostile-name-with-space", body_writer(tag_login_name).str("luke skywalker").bytes()},
      {"hostile-overlong-utf8",
       body_writer(tag_direct_message).str("luke").str("\xc0\xaf").bytes()},
  };
}

std::vector<seed> p2p_valid_seeds() {
  const std::vector<std::pair<std::string, proto::p2p_message>> messages = {
      {"p2p_hello", proto::p2p_hello{p2p_version, "yoda", sample_token}},
      {"p2p_accept", proto::p2p_accept{}},
      {"p2p_text", proto::p2p_text{"do or do not \xe2\x9c\x93"}},
      {"p2p_stop", proto::p2p_stop{}},
      {"p2p_open", proto::p2p_open{p2p_version, sample_key, sample_key}},
      {"p2p_challenge", proto::p2p_challenge{sample_key, sample_key}},
      {"p2p_proof", proto::p2p_proof_message{sample_key, {}, sample_key}},
      {"p2p_ready", proto::p2p_ready{{}, sample_key}},
  };
  std::vector<seed> seeds;
  for (const auto& [name, message] : messages)
    seeds.emplace_back("p2p-" + std::to_string(message.index()) + "-" + name,
                       body_of(proto::encode_frame(message)));
  return seeds;
}

// What a stranger dialing a peer's private-chat port might send first.
std::vector<seed> p2p_hostile_seeds() {
  constexpr std::uint64_t one_gib = std::uint64_t{1} << 30;
  constexpr std::int32_t tag_hello = 0;
  constexpr std::int32_t tag_text = 2;
  constexpr auto tag_past_end = static_cast<std::int32_t>(std::variant_size_v<proto::p2p_message>);
  const auto hello = [](std::string_view from, std::string_view token) {
    return body_writer(tag_hello).u16(p2p_version).str(from).str(token).bytes();
  };
  const auto valid_hello = hello("yoda", sample_token);
  return {
      {"hostile-hello-truncated", valid_hello.substr(0, valid_hello.size() - 1)},
      {"hostile-hello-trailing-byte", valid_hello + "!"},
      {"hostile-hello-token-upper-case", hello("yoda", "0123456789ABCDEF0123456789ABCDEF")},
      {"hostile-hello-token-short", hello("yoda", "0123456789abcdef")},
      {"hostile-hello-token-33-digits", hello("yoda", std::string(33, 'a'))},
      {"hostile-hello-token-claims-1gib",
       body_writer(tag_hello).u16(p2p_version).str("yoda").u64(one_gib).bytes()},
      {"hostile-hello-name-with-space", hello("luke skywalker", sample_token)},
      {"hostile-hello-empty-name", hello("", sample_token)},
      {"hostile-text-claims-1gib", body_writer(tag_text).u64(one_gib).bytes()},
      {"hostile-text-empty", body_writer(tag_text).str("").bytes()},
      {"hostile-text-overlong-utf8", body_writer(tag_text).str("\xc0\xaf").bytes()},
      {"hostile-tag-past-end", body_writer(tag_past_end).bytes()},
      {"hostile-negative-tag", body_writer(-1).bytes()},
      {"hostile-bad-endianness-flag", body_writer(tag_text, 2).str("hi").bytes()},
  };
}

// Writes `seeds` into `folder`; false (with a message) if a file cannot be written.
bool write_seeds(const std::filesystem::path& folder, const std::vector<seed>& seeds) {
  std::filesystem::create_directories(folder);
  for (const auto& [name, body] : seeds) {
    std::ofstream file(folder / name, std::ios::binary | std::ios::trunc);
    file.write(body.data(), static_cast<std::streamsize>(body.size()));
    if (!file) {
      std::fprintf(stderr, "cannot write %s\n", (folder / name).c_str());
      return false;
    }
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), folder.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: %s CORPUS_ROOT   (writes CORPUS_ROOT/decode and CORPUS_ROOT/p2p)\n",
                 argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  auto decode = valid_seeds();
  for (auto& s : hostile_seeds()) decode.push_back(std::move(s));
  auto p2p = p2p_valid_seeds();
  for (auto& s : p2p_hostile_seeds()) p2p.push_back(std::move(s));
  return write_seeds(root / "decode", decode) && write_seeds(root / "p2p", p2p) ? 0 : 1;
}

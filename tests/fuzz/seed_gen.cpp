// Writes the decode fuzzer's seed corpus: one valid body of every message of both directions,
// made by the real encoder, plus hand-made hostile bodies that start the fuzzer next to the
// decoder's edges. Run it after a protocol change and commit the output:
//   build/parley_fuzz_seed_gen tests/fuzz/corpus/decode
#include "shared/proto/codec.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
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
  };
  const std::vector<std::pair<std::string, proto::server_message>> server = {
      {"server_hello", proto::server_hello{}},
      {"login_reply", proto::login_reply{proto::login_result::invalid_password}},
      {"delivery", proto::delivery{"luke", "may the force", proto::delivery_kind::offline}},
      {"presence", proto::presence{"leia", 1}},
      {"command_reply", proto::command_reply{proto::outcome::blocked, "vader"}},
      {"user_list", list},
      {"session_end", proto::session_end{proto::end_reason::inactivity}},
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
      {"hostile-tag-past-end", body_writer(11).bytes()},
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  auto seeds = valid_seeds();
  for (auto& s : hostile_seeds()) seeds.push_back(std::move(s));
  for (const auto& [name, body] : seeds) {
    std::ofstream file(out / name, std::ios::binary | std::ios::trunc);
    file.write(body.data(), static_cast<std::streamsize>(body.size()));
    if (!file) {
      std::fprintf(stderr, "cannot write %s\n", (out / name).c_str());
      return 1;
    }
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), out.c_str());
  return 0;
}

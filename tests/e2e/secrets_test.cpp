// SPEC 10: no password, token, message text or key ever appears in a log. A whole session (login,
// a direct message, a broadcast, a private chat) with the registry at --log-level trace, then
// every log and every byte the peers printed is searched for each secret. The token is learned
// from a capture of the registry link, so that run is --no-tls (the code paths that could log a
// token are the same with TLS); a second run with TLS looks for the registry's private key.
#include "tests/e2e/harness.hpp"
#include "tests/e2e/proxy.hpp"

#include "shared/proto/codec.hpp"
#include "shared/proto/frame.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace parley::e2e {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view direct_secret = "the direct message nobody may log 7f3a";
constexpr std::string_view broadcast_secret = "the broadcast nobody may log 91c2";
constexpr std::string_view private_secret = "the private message nobody may log 5be0";
constexpr std::string_view private_reply_secret = "the private reply nobody may log 0d4e";

// The tokens of every private_granted the registry sent on one connection of the capture.
std::vector<std::string> granted_tokens(const std::string& stream) {
  std::vector<std::string> tokens;
  std::size_t at = 0;
  while (stream.size() - at >= proto::frame_header_bytes) {
    const auto length =
        proto::read_frame_length(reinterpret_cast<const unsigned char*>(stream.data() + at));
    if (stream.size() - at - proto::frame_header_bytes < length) break;
    const auto decoded = proto::decode_server(
        std::string_view(stream).substr(at + proto::frame_header_bytes, length));
    at += proto::frame_header_bytes + length;
    if (!decoded.message) continue;
    if (const auto* granted = std::get_if<proto::private_granted_keyed>(&*decoded.message))
      tokens.push_back(granted->token.value);
  }
  return tokens;
}

user_peer peer_through(tcp_proxy& proxy, registry_fixture& registry, std::string_view user) {
  user_peer peer{std::string(user), start_peer(proxy.port(), registry.new_home(), {"--no-tls"})};
  log_in(*peer, user, password_of(user));
  // The private-chat port has reached the registry (as logged_in_user).
  answer_to(*peer, "whoelse");
  return peer;
}

void check_absent(std::string_view where, const std::string& text,
                  const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    INFO(where, " holds a secret: ", secret);
    CHECK(text.find(secret) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("secrets: at trace level no log holds a password, a token or a message") {
  registry_settings settings;
  settings.tls = false;
  settings.log_level = "trace";
  registry_fixture registry(settings);
  tcp_proxy proxy(registry.port(), relay_mode::frames);
  auto yoda = peer_through(proxy, registry, "yoda");
  auto luke = peer_through(proxy, registry, "luke");
  yoda->expect_line("luke logged in");

  CHECK(answer_to(*yoda, "message luke " + std::string(direct_secret)).empty());
  luke->expect_line("yoda: " + std::string(direct_secret));
  CHECK(answer_to(*luke, "broadcast " + std::string(broadcast_secret)).empty());
  yoda->expect_line("luke: " + std::string(broadcast_secret));
  open_private_chat(yoda, luke);
  yoda->send_line("private luke " + std::string(private_secret));
  luke->expect_line(text::private_text("yoda", private_secret));
  luke->send_line("private yoda " + std::string(private_reply_secret));
  yoda->expect_line(text::private_text("luke", private_reply_secret));
  yoda->send_line("stopprivate luke");
  luke->expect_line(text::private_stopped_by("yoda"));
  log_out(*luke);
  log_out(*yoda);
  registry.stop();

  // The positive control: the capture holds the token the registry granted yoda.
  const auto tokens = granted_tokens(proxy.captured(0, direction::to_client));
  REQUIRE(tokens.size() == 1);
  REQUIRE(tokens.front().size() == 32);
  // The registry logged the sessions (at debug level and above).
  REQUIRE(registry.log().find("connected") != std::string::npos);
  REQUIRE(registry.log().find("ended: logged out") != std::string::npos);

  const std::vector<std::string> every_secret{password_of("yoda"),
                                              password_of("luke"),
                                              tokens.front(),
                                              std::string(direct_secret),
                                              std::string(broadcast_secret),
                                              std::string(private_secret),
                                              std::string(private_reply_secret)};
  check_absent("the registry's log", registry.log(), every_secret);
  // The peers show the texts (that is their job), never a password or the token.
  const std::vector<std::string> never_shown{password_of("yoda"), password_of("luke"),
                                             tokens.front()};
  check_absent("yoda's terminal", yoda->raw_output(), never_shown);
  check_absent("luke's terminal", luke->raw_output(), never_shown);
}

TEST_CASE("secrets: the registry's TLS key is never logged, at trace level, nor a password") {
  registry_settings settings;
  settings.log_level = "trace";
  registry_fixture registry(settings);
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");
  CHECK(answer_to(*yoda, "message luke " + std::string(direct_secret)).empty());
  luke->expect_line("yoda: " + std::string(direct_secret));
  log_out(*luke);
  log_out(*yoda);
  registry.stop();

  // Each base64 line of the key file.
  std::ifstream key_file(registry.database_path().string() + ".tls-key.pem");
  std::vector<std::string> secrets{password_of("yoda"), password_of("luke"),
                                   std::string(direct_secret), "PRIVATE KEY"};
  for (std::string line; std::getline(key_file, line);)
    if (line.rfind("-----", 0) != 0 && !line.empty()) secrets.push_back(line);
  REQUIRE(secrets.size() > 4);
  REQUIRE(registry.log().find("TLS key SHA256:") != std::string::npos);
  check_absent("the registry's log", registry.log(), secrets);
}

}  // namespace parley::e2e

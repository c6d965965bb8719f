// The loopback proxy of the capture tests: first on its own, between raw sockets, then between
// real peers and a registry on the plain protocol (--no-tls), where everything typed is in the
// capture (the positive control of tls_test, which shows TLS hiding it).
#include "tests/e2e/proxy.hpp"
#include "tests/e2e/harness.hpp"

#include "shared/proto/frame.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>

namespace parley::e2e {

namespace {

std::string frame_of(std::string_view body) {
  std::string frame(proto::frame_header_bytes, '\0');
  proto::write_frame_length(frame.data(), static_cast<std::uint32_t>(body.size()));
  return frame + std::string(body);
}

// A client connected through `proxy` to `target`, and the target's side of that connection.
struct relayed_pair {
  raw_client client;
  raw_client server;
};

// The client connects first: the proxy connects to the target only then.
relayed_pair connect_through(tcp_proxy& proxy, listener& target) {
  return {raw_client(proxy.port()), target.accept()};
}

}  // namespace

TEST_CASE("proxy: relays bytes both ways and records each read with its connection and way") {
  listener target;
  tcp_proxy proxy(target.port());
  auto first = connect_through(proxy, target);
  auto second = connect_through(proxy, target);
  REQUIRE(proxy.wait_for_connections(2));

  REQUIRE(first.client.send_bytes(frame_of("hello from the first client")));
  REQUIRE(second.server.send_bytes(frame_of("the second server's frame")));
  CHECK(first.server.receive_body() == "hello from the first client");
  CHECK(second.client.receive_body() == "the second server's frame");

  CHECK(proxy.captured(0, direction::to_target) == frame_of("hello from the first client"));
  CHECK(proxy.captured(0, direction::to_client).empty());
  CHECK(proxy.captured(1, direction::to_client) == frame_of("the second server's frame"));
  CHECK(proxy.capture_contains("second server"));
  CHECK_FALSE(proxy.capture_contains("nobody sent this"));
  for (const auto& chunk : proxy.chunks()) {
    if (chunk.connection == 0) CHECK(chunk.way == direction::to_target);
    if (chunk.connection == 1) CHECK(chunk.way == direction::to_client);
  }
}

TEST_CASE("proxy: a text split across reads is found, and a close is passed on") {
  listener target;
  tcp_proxy proxy(target.port());
  std::optional<raw_client> client(std::in_place, proxy.port());
  {
    auto server = target.accept();
    // Pass-through assumes no framing: any bytes go.
    REQUIRE(client->send_bytes("the pass"));
    REQUIRE(proxy.wait_for_capture("the pass"));
    REQUIRE(client->send_bytes("word is known"));
    CHECK(proxy.wait_for_capture("the password is known"));
    CHECK(proxy.chunks().size() >= 2);

    // The client ends: the target reads the bytes, then the end; then the target ends too.
    client.reset();
    CHECK(server.wait_closed());
    CHECK_FALSE(proxy.closed(0));
  }
  CHECK(proxy.wait_closed(0));
  CHECK_FALSE(proxy.inject(0, direction::to_target, "too late"));
}

TEST_CASE("proxy: a target that refuses closes the client's connection") {
  tcp_proxy proxy(unused_port());
  raw_client client(proxy.port());
  CHECK(client.wait_closed());
  CHECK(proxy.wait_closed(0));
}

TEST_CASE("proxy: frame hooks drop, replace and replay frames of one connection and way") {
  listener target;
  tcp_proxy proxy(target.port(), relay_mode::frames);
  proxy.set_frame_hook(0, direction::to_target, [](std::size_t index, std::string& body) {
    if (index == 1) return frame_verdict::drop;
    if (index == 2) body = "a longer body put in its place";
    if (index == 3) return frame_verdict::replay;
    return frame_verdict::forward;
  });
  auto pair = connect_through(proxy, target);

  // Five frames in one write: the proxy reassembles them whatever the reads.
  std::string five;
  for (const auto* body : {"zero", "one", "two", "three", "four"}) five += frame_of(body);
  REQUIRE(pair.client.send_bytes(five));
  CHECK(pair.server.receive_body() == "zero");
  CHECK(pair.server.receive_body() == "a longer body put in its place");
  CHECK(pair.server.receive_body() == "three");
  CHECK(pair.server.receive_body() == "three");
  CHECK(pair.server.receive_body() == "four");
  CHECK(proxy.wait_for_frames(0, direction::to_target, 5));
  // The capture holds what the client sent, untouched.
  CHECK(proxy.captured(0, direction::to_target) == five);

  // The other way, and another connection, are not touched.
  REQUIRE(pair.server.send_bytes(frame_of("one")));
  CHECK(pair.client.receive_body() == "one");
  auto other = connect_through(proxy, target);
  REQUIRE(other.client.send_bytes(frame_of("zero") + frame_of("one")));
  CHECK(other.server.receive_body() == "zero");
  CHECK(other.server.receive_body() == "one");
}

TEST_CASE("proxy: a frame split across writes reaches its hook whole") {
  listener target;
  tcp_proxy proxy(target.port(), relay_mode::frames);
  std::string seen;
  proxy.set_frame_hook(0, direction::to_client, [&](std::size_t, std::string& body) {
    seen = body;
    return frame_verdict::forward;
  });
  auto pair = connect_through(proxy, target);
  const auto frame = frame_of("split in three writes");
  REQUIRE(pair.server.send_bytes(frame.substr(0, 2)));
  REQUIRE(proxy.wait_for_capture(frame.substr(0, 2)));
  REQUIRE(pair.server.send_bytes(frame.substr(2, 9)));
  REQUIRE(proxy.wait_for_capture(frame.substr(0, 11)));
  REQUIRE(pair.server.send_bytes(frame.substr(11)));
  CHECK(pair.client.receive_body() == "split in three writes");
  // The frame was counted after its hook ran: `seen` is written before the count moves.
  REQUIRE(proxy.wait_for_frames(0, direction::to_client, 1));
  CHECK(seen == "split in three writes");
}

TEST_CASE("proxy: a byte flipped at an offset, in either mode") {
  listener target;
  SUBCASE("pass-through") {
    tcp_proxy proxy(target.port());
    proxy.flip_byte(0, direction::to_client, 14, 0x20);
    auto pair = connect_through(proxy, target);
    // Offsets count over the whole stream: the flip lands in the second write.
    REQUIRE(pair.server.send_bytes(frame_of("abcd")));
    CHECK(pair.client.receive_body() == "abcd");
    REQUIRE(pair.server.send_bytes(frame_of("efgh")));
    CHECK(pair.client.receive_body() == "efGh");
    CHECK(proxy.captured(0, direction::to_client) == frame_of("abcd") + frame_of("efgh"));
  }
  SUBCASE("frames: a flipped length byte changes the framing the receiver sees") {
    tcp_proxy proxy(target.port(), relay_mode::frames);
    proxy.flip_byte(0, direction::to_target, 4, 0x01);
    auto pair = connect_through(proxy, target);
    REQUIRE(pair.client.send_bytes(frame_of("body")));
    CHECK(pair.server.receive_body() == "cody");
  }
}

TEST_CASE("proxy: bytes injected on a connection, such as a frame captured earlier") {
  listener target;
  tcp_proxy proxy(target.port(), relay_mode::frames);
  auto first = connect_through(proxy, target);
  REQUIRE(first.client.send_bytes(frame_of("captured")));
  CHECK(first.server.receive_body() == "captured");

  // Replayed later on the same connection, then on another one.
  REQUIRE(proxy.inject(0, direction::to_target, proxy.captured(0, direction::to_target)));
  CHECK(first.server.receive_body() == "captured");
  auto second = connect_through(proxy, target);
  REQUIRE(proxy.wait_for_connections(2));
  REQUIRE(proxy.inject(1, direction::to_target, proxy.captured(0, direction::to_target)));
  CHECK(second.server.receive_body() == "captured");
  // And towards a client.
  REQUIRE(proxy.inject(1, direction::to_client, frame_of("from nowhere")));
  CHECK(second.client.receive_body() == "from nowhere");
  // Injected bytes were never received: they are not in the capture.
  CHECK_FALSE(proxy.capture_contains("from nowhere"));
  CHECK_FALSE(proxy.inject(2, direction::to_target, "no such connection"));
}

TEST_CASE("proxy: stopped with connections open, in its destructor") {
  listener target;
  auto proxy = std::make_unique<tcp_proxy>(target.port());
  auto pair = connect_through(*proxy, target);
  REQUIRE(pair.client.send_bytes("x"));
  REQUIRE(proxy->wait_for_capture("x"));
  proxy.reset();
  CHECK(pair.client.wait_closed());
  CHECK(pair.server.wait_closed());
}

// The positive control of tls_test's capture: with --no-tls on both sides an observer of the
// registry link reads the password, a direct message and a broadcast.
TEST_CASE("proxy: on the plain protocol the capture shows the password, a DM and a broadcast") {
  registry_settings plain;
  plain.tls = false;
  registry_fixture registry(plain);
  tcp_proxy proxy(registry.port(), relay_mode::frames);
  auto [yoda, luke] =
      chat_for_capture(proxy.port(), registry.new_home(), registry.new_home(), {"--no-tls"});

  CHECK(proxy.connections() == 2);
  // The password goes to the registry; each text to the registry and on to the recipient.
  CHECK(proxy.captured(0, direction::to_target).find(password_of("yoda")) != std::string::npos);
  CHECK(proxy.captured(1, direction::to_target).find(password_of("luke")) != std::string::npos);
  CHECK(proxy.captured(0, direction::to_target).find(capture_direct_text) != std::string::npos);
  CHECK(proxy.captured(1, direction::to_client).find(capture_direct_text) != std::string::npos);
  CHECK(proxy.captured(1, direction::to_target).find(capture_broadcast_text) != std::string::npos);
  CHECK(proxy.captured(0, direction::to_client).find(capture_broadcast_text) != std::string::npos);
  CHECK(proxy.capture_contains("yoda"));
  CHECK(proxy.frames_seen(0, direction::to_target) >= 4);

  log_out(*luke);
  yoda->expect_line("luke logged out");
  CHECK(proxy.wait_closed(1));
  log_out(*yoda);
}

}  // namespace parley::e2e

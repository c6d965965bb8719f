// framed_connection on real loopback sockets (127.0.0.1, port chosen by the OS). Every test
// drives its own io_context with a deadline, so a broken connection fails the test instead of
// hanging it.
#include "shared/net/framed_connection.hpp"

#include "shared/proto/frame.hpp"

#include <doctest/doctest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace net = parley::net;
namespace proto = parley::proto;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

// The longest any test may run its io_context before it counts as hung.
constexpr auto test_deadline = 5s;
// How long one run_for slice lasts before the condition is checked again.
constexpr auto run_slice = 5ms;
// The frame body bound a connection gets by default.
constexpr std::size_t default_frame_bound = net::connection_limits{}.max_frame_body;

// Runs the io_context until `done` holds; false if the deadline passed first or nothing was
// left that could make it hold.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::steady_clock::duration limit = test_deadline) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(run_slice);
    if (io.stopped() && !done()) {
      // Out of work: nothing more can happen.
      io.restart();
      if (io.poll() == 0) return done();
    }
  }
  return true;
}

// Two connected TCP sockets on 127.0.0.1: `near` is handed to the connection under test, `far`
// plays the other side (raw, or wrapped in a second framed_connection).
struct loopback {
  asio::io_context io;
  tcp::socket near{io};
  tcp::socket far{io};

  loopback() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    far.connect(acceptor.local_endpoint());
    acceptor.accept(near);
  }
};

std::string frame_of(std::string_view body) {
  std::string frame(proto::frame_header_bytes, '\0');
  proto::write_frame_length(frame.data(), static_cast<std::uint32_t>(body.size()));
  frame.append(body);
  return frame;
}

std::string header_announcing(std::uint32_t length) {
  std::string header(proto::frame_header_bytes, '\0');
  proto::write_frame_length(header.data(), length);
  return header;
}

// A body whose every byte depends on its position, so a reordered or dropped chunk shows.
std::string patterned_body(std::size_t size, unsigned seed) {
  // A prime, so the pattern does not line up with power-of-two buffer sizes.
  constexpr unsigned pattern_period = 251;
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>((i + seed) % pattern_period);
  return body;
}

// Splits a byte stream back into frame bodies; `complete` is false if it ends mid-frame.
std::vector<std::string> split_frames(std::string_view stream, bool& complete) {
  std::vector<std::string> bodies;
  while (stream.size() >= proto::frame_header_bytes) {
    const auto length =
        proto::read_frame_length(reinterpret_cast<const unsigned char*>(stream.data()));
    if (stream.size() < proto::frame_header_bytes + length) break;
    bodies.emplace_back(stream.substr(proto::frame_header_bytes, length));
    stream.remove_prefix(proto::frame_header_bytes + length);
  }
  complete = stream.empty();
  return bodies;
}

struct close_record {
  int calls = 0;
  net::close_cause cause = net::close_cause::closed_locally;
  std::string detail;
};

net::framed_connection::close_handler record_close(close_record& record) {
  return [&record](net::close_cause cause, const std::string& detail) {
    ++record.calls;
    record.cause = cause;
    record.detail = detail;
  };
}

net::framed_connection::frame_handler collect_frames(std::vector<std::string>& bodies) {
  return [&bodies](std::string_view body) { bodies.emplace_back(body); };
}

// Reads a raw socket until it ends, keeping every byte, and records how it ended.
void spawn_read_to_end(tcp::socket& socket, std::string& received, std::error_code& ended,
                       bool& done) {
  asio::co_spawn(
      socket.get_executor(),
      [&]() -> asio::awaitable<void> {
        char chunk[16 * 1024];
        for (;;) {
          std::error_code ec;
          const auto n = co_await socket.async_read_some(
              asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
          received.append(chunk, n);
          if (ec) {
            ended = ec;
            done = true;
            co_return;
          }
        }
      },
      asio::detached);
}

}  // namespace

TEST_CASE("frames arrive in order and intact, including a maximal body") {
  loopback link;
  auto receiver = net::framed_connection::create(std::move(link.near));
  auto sender = net::framed_connection::create(std::move(link.far));
  std::vector<std::string> received;
  close_record receiver_closed, sender_closed;
  receiver->start(collect_frames(received), record_close(receiver_closed));
  sender->start([](std::string_view) {}, record_close(sender_closed));

  const std::vector<std::string> bodies = {
      "first",
      "",  // an empty body is a valid frame
      patterned_body(1000, 1),
      patterned_body(default_frame_bound, 2),
      patterned_body(default_frame_bound - 1, 3),
      "last",
  };
  for (const auto& body : bodies) CHECK(sender->send(frame_of(body)));
  // The same frame object may be queued by several connections.
  const auto shared = std::make_shared<const std::string>(frame_of("shared"));
  CHECK(sender->send(shared));

  REQUIRE(run_until(link.io, [&] { return received.size() == bodies.size() + 1; }));
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    CAPTURE(i);
    CHECK(received[i] == bodies[i]);
  }
  CHECK(received.back() == "shared");

  sender->close();
  REQUIRE(run_until(link.io, [&] { return receiver_closed.calls && sender_closed.calls; }));
  CHECK(sender_closed.cause == net::close_cause::closed_locally);
  CHECK(receiver_closed.cause == net::close_cause::eof);
}

TEST_CASE("a header over max_frame_body closes the connection before any body is sent") {
  for (const std::uint32_t announced :
       {static_cast<std::uint32_t>(default_frame_bound + 1), std::uint32_t{0xffffffff}}) {
    CAPTURE(announced);
    loopback link;
    auto receiver = net::framed_connection::create(std::move(link.near));
    std::vector<std::string> received;
    close_record closed;
    receiver->start(collect_frames(received), record_close(closed));

    // Only the header: the body never comes, so the connection can only end on the header.
    asio::write(link.far, asio::buffer(header_announcing(announced)));
    REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
    CHECK(closed.cause == net::close_cause::frame_too_large);
    CHECK(received.empty());
    CHECK_FALSE(receiver->is_open());

    // The other side sees the connection go.
    std::string rest;
    std::error_code ended;
    bool done = false;
    spawn_read_to_end(link.far, rest, ended, done);
    REQUIRE(run_until(link.io, [&] { return done; }));
    CHECK(rest.empty());
  }
}

TEST_CASE("the frame bound comes from the connection's limits") {
  loopback link;
  net::connection_limits limits;
  limits.max_frame_body = 16;
  auto receiver = net::framed_connection::create(std::move(link.near), limits);
  std::vector<std::string> received;
  close_record closed;
  receiver->start(collect_frames(received), record_close(closed));

  const std::string at_bound(limits.max_frame_body, 'x');
  asio::write(link.far, asio::buffer(frame_of(at_bound) + header_announcing(17)));
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  REQUIRE(received.size() == 1);
  CHECK(received[0] == at_bound);
  CHECK(closed.cause == net::close_cause::frame_too_large);
}

TEST_CASE("the other side closing gives eof, after every complete frame") {
  SUBCASE("between frames") {
    loopback link;
    auto receiver = net::framed_connection::create(std::move(link.near));
    std::vector<std::string> received;
    close_record closed;
    receiver->start(collect_frames(received), record_close(closed));
    asio::write(link.far, asio::buffer(frame_of("one") + frame_of("two")));
    link.far.close();
    REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
    CHECK(closed.cause == net::close_cause::eof);
    CHECK(received == std::vector<std::string>{"one", "two"});
  }
  SUBCASE("in the middle of a frame") {
    loopback link;
    auto receiver = net::framed_connection::create(std::move(link.near));
    std::vector<std::string> received;
    close_record closed;
    receiver->start(collect_frames(received), record_close(closed));
    asio::write(link.far, asio::buffer(frame_of("whole") + frame_of("cut short").substr(0, 7)));
    link.far.close();
    REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
    CHECK(closed.cause == net::close_cause::eof);
    CHECK(received == std::vector<std::string>{"whole"});
  }
}

TEST_CASE("the close handler runs exactly once, and never from inside close()") {
  loopback link;
  auto connection = net::framed_connection::create(std::move(link.near));
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));

  connection->close();
  CHECK(closed.calls == 0);
  CHECK_FALSE(connection->is_open());
  // Everything after the first close is a no-op.
  connection->close(net::close_cause::read_error, "ignored");
  connection->close_after_flush();
  CHECK_FALSE(connection->send(frame_of("too late")));

  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(closed.cause == net::close_cause::closed_locally);
  // The other side closing now must not produce a second call.
  link.far.close();
  run_until(
      link.io, [] { return false; }, 50ms);
  CHECK(closed.calls == 1);
  CHECK_FALSE(connection->send(frame_of("still too late")));
}

TEST_CASE("close() from inside the frame handler stops delivery at once") {
  loopback link;
  auto connection = net::framed_connection::create(std::move(link.near));
  std::vector<std::string> received;
  close_record closed;
  connection->start(
      [&](std::string_view body) {
        received.emplace_back(body);
        connection->close(net::close_cause::closed_locally, "bad frame");
      },
      record_close(closed));
  // Both frames arrive in one segment: the second must not be delivered.
  asio::write(link.far, asio::buffer(frame_of("first") + frame_of("second")));
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(received == std::vector<std::string>{"first"});
  CHECK(closed.detail == "bad frame");
}

TEST_CASE("close_after_flush delivers every queued frame, then closes") {
  loopback link;
  net::connection_limits limits;
  // Far longer than the test deadline: the connection must end on the other side's EOF.
  limits.linger = 60s;
  auto connection = net::framed_connection::create(std::move(link.near), limits);
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));

  // Enough bytes that the writer needs several rounds and the kernel buffers fill.
  constexpr std::size_t frame_count = 300;
  constexpr std::size_t body_bytes = 3000;
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < frame_count; ++i) {
    bodies.push_back(patterned_body(body_bytes + i, static_cast<unsigned>(i)));
    REQUIRE(connection->send(frame_of(bodies.back())));
  }
  connection->close_after_flush();
  CHECK_FALSE(connection->is_open());
  CHECK_FALSE(connection->send(frame_of("after close_after_flush")));

  std::string stream;
  std::error_code ended;
  bool far_done = false;
  spawn_read_to_end(link.far, stream, ended, far_done);
  REQUIRE(run_until(link.io, [&] { return far_done; }));
  CHECK(ended == asio::error::eof);
  bool complete = false;
  CHECK(split_frames(stream, complete) == bodies);
  CHECK(complete);
  CHECK(closed.calls == 0);  // still lingering for our FIN

  link.far.close();
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(closed.cause == net::close_cause::closed_locally);
}

TEST_CASE("close_after_flush gives up on a silent peer after linger") {
  loopback link;
  net::connection_limits limits;
  limits.linger = 50ms;
  auto connection = net::framed_connection::create(std::move(link.near), limits);
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));
  REQUIRE(connection->send(frame_of("bye")));
  connection->close_after_flush();

  // The other side never closes its end.
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(closed.cause == net::close_cause::closed_locally);
}

TEST_CASE("close_after_flush drops a peer that stops reading, after linger") {
  loopback link;
  net::connection_limits limits;
  limits.linger = 100ms;
  // Small kernel buffers, so the flush cannot finish while the far side does not read.
  constexpr int small_socket_buffer = 4096;
  link.near.set_option(tcp::socket::send_buffer_size(small_socket_buffer));
  link.far.set_option(tcp::socket::receive_buffer_size(small_socket_buffer));
  auto connection = net::framed_connection::create(std::move(link.near), limits);
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));
  // Far more than any kernel buffer takes.
  constexpr std::size_t frame_count = 64;
  const auto frame = std::make_shared<const std::string>(frame_of(patterned_body(60000, 9)));
  for (std::size_t i = 0; i < frame_count; ++i) REQUIRE(connection->send(frame));
  connection->close_after_flush();

  const auto start = std::chrono::steady_clock::now();
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(std::chrono::steady_clock::now() - start >= limits.linger);
  CHECK(closed.cause == net::close_cause::write_error);
}

TEST_CASE("a reader slower than its queue bound is dropped") {
  loopback link;
  net::connection_limits limits;
  limits.max_queued_bytes = 64 * 1024;
  // Small kernel buffers, so the queue fills after little traffic.
  constexpr int small_socket_buffer = 4096;
  link.near.set_option(tcp::socket::send_buffer_size(small_socket_buffer));
  link.far.set_option(tcp::socket::receive_buffer_size(small_socket_buffer));
  auto connection = net::framed_connection::create(std::move(link.near), limits);
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));

  // The far side never reads. Keep sending, letting the writer run between sends, until the
  // queue overflows; the cap only keeps a broken bound from looping forever.
  constexpr std::size_t max_attempts = 100000;
  const auto frame = std::make_shared<const std::string>(frame_of(patterned_body(8192, 7)));
  bool refused = false;
  for (std::size_t attempt = 0; attempt < max_attempts && !refused; ++attempt) {
    refused = !connection->send(frame);
    link.io.poll();
  }
  REQUIRE(refused);
  CHECK_FALSE(connection->is_open());
  CHECK_FALSE(connection->send(frame));
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(closed.cause == net::close_cause::queue_overflow);
}

TEST_CASE("every queued frame counts its overhead, so a queue of tiny frames reaches the bound") {
  loopback link;
  const std::string tiny = frame_of("1");
  constexpr std::size_t frames_at_bound = 10;
  net::connection_limits limits;
  limits.max_queued_bytes = frames_at_bound * (tiny.size() + net::queued_frame_overhead);
  auto connection = net::framed_connection::create(std::move(link.near), limits);
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));
  // Nothing runs between the sends, so nothing leaves the queue.
  for (std::size_t i = 0; i < frames_at_bound; ++i) CHECK(connection->send(tiny));
  CHECK(connection->queued_bytes() == limits.max_queued_bytes);
  CHECK_FALSE(connection->send(tiny));
  CHECK(closed.calls == 0);
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(closed.cause == net::close_cause::queue_overflow);
}

TEST_CASE("send after the other side has gone returns false") {
  loopback link;
  auto connection = net::framed_connection::create(std::move(link.near));
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));
  link.far.close();
  REQUIRE(run_until(link.io, [&] { return closed.calls == 1; }));
  CHECK(closed.cause == net::close_cause::eof);
  CHECK_FALSE(connection->is_open());
  CHECK_FALSE(connection->send(frame_of("nobody listens")));
}

TEST_CASE("frames sent while the kernel's buffer is full go out after the earlier ones") {
  loopback link;
  net::connection_limits limits;
  // Room for far more than the kernel's buffers hold, so the connection has to wait for them.
  limits.max_queued_bytes = 64 * 1024 * 1024;
  auto connection = net::framed_connection::create(std::move(link.near), limits);
  close_record closed;
  connection->start([](std::string_view) {}, record_close(closed));

  constexpr std::size_t first_batch = 2000;
  constexpr std::size_t second_batch = 100;
  constexpr std::size_t body_bytes = 8000;
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < first_batch; ++i) {
    bodies.push_back(patterned_body(body_bytes, static_cast<unsigned>(i)));
    REQUIRE(connection->send(frame_of(bodies.back())));
  }
  // The writes happen, and stop when the kernel's buffers are full: nobody reads yet.
  run_until(
      link.io, [] { return false; }, 50ms);
  for (std::size_t i = 0; i < second_batch; ++i) {
    bodies.push_back(patterned_body(body_bytes + 1, static_cast<unsigned>(first_batch + i)));
    REQUIRE(connection->send(frame_of(bodies.back())));
  }
  connection->close_after_flush();

  std::string stream;
  std::error_code ended;
  bool far_done = false;
  spawn_read_to_end(link.far, stream, ended, far_done);
  REQUIRE(run_until(link.io, [&] { return far_done; }));
  bool complete = false;
  CHECK(split_frames(stream, complete) == bodies);
  CHECK(complete);
  CHECK(closed.calls == 0);
}

TEST_CASE("a close handler may send to other connections while the outbox is being written") {
  // The registry's shape: a connection that ends during the write of the outbox makes its
  // owner tell the others (`<user> logged out`), while their own frames are still to be written.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket near_a(io), far_a(io), near_b(io), far_b(io);
  far_a.connect(acceptor.local_endpoint());
  acceptor.accept(near_a);
  far_b.connect(acceptor.local_endpoint());
  acceptor.accept(near_b);
  auto a = net::framed_connection::create(std::move(near_a));
  auto b = net::framed_connection::create(std::move(near_b));
  close_record b_closed;
  b->start([](std::string_view) {}, record_close(b_closed));
  int a_closes = 0;
  a->start(
      [&](std::string_view) {
        // a and b both get a frame, in that order; then a is closed with its frame unsent, so
        // a ends when the outbox reaches it, before b's turn.
        a->send(frame_of("to a"));
        b->send(frame_of("first to b"));
        a->close();
      },
      [&](net::close_cause, const std::string&) {
        ++a_closes;
        b->send(frame_of("second to b, from a's close handler"));
        b->close_after_flush();
      });
  asio::write(far_a, asio::buffer(frame_of("go")));

  std::string stream;
  std::error_code ended;
  bool far_done = false;
  spawn_read_to_end(far_b, stream, ended, far_done);
  REQUIRE(run_until(io, [&] { return far_done; }));
  CHECK(a_closes == 1);
  bool complete = false;
  CHECK(split_frames(stream, complete) ==
        std::vector<std::string>{"first to b", "second to b, from a's close handler"});
  CHECK(complete);
}

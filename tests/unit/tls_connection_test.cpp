// framed_connection over TLS (SPEC 10; docs/design/issue-11.md 1.1): a server connection that
// tells TLS from plain by its client's first byte, a client connection whose frames wait for the
// handshake, on real loopback sockets with the registry's own kind of key. The same promises as
// the plain connection (order, bounds, slow readers, graceful close), and TLS's own: frames are
// sealed a record per turn, not a record per frame; a refused key sends nothing; each side that
// meets the other protocol ends at once with a reason.
#include "shared/net/framed_connection.hpp"

#include "registry/tls/identity.hpp"
#include "shared/net/tls_session.hpp"
#include "shared/proto/frame.hpp"
#include "tests/unit/scratch_dir.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace net = parley::net;
namespace proto = parley::proto;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

constexpr auto test_deadline = 5s;
constexpr auto run_slice = 5ms;

bool run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + test_deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(run_slice);
  }
  return true;
}

std::string frame_of(std::string_view body) {
  std::string frame(proto::frame_header_bytes, '\0');
  proto::write_frame_length(frame.data(), static_cast<std::uint32_t>(body.size()));
  frame.append(body);
  return frame;
}

struct close_record {
  int calls = 0;
  net::close_cause cause = net::close_cause::closed_locally;
  std::string detail;
};

// One side of a link: the frames it received and how it ended.
struct side {
  std::vector<std::string> frames;
  close_record closed;
  std::shared_ptr<net::framed_connection> connection;

  void start() {
    connection->start([this](std::string_view body) { frames.emplace_back(body); },
                      [this](net::close_cause cause, const std::string& detail) {
                        ++closed.calls;
                        closed.cause = cause;
                        closed.detail = detail;
                      });
  }
};

// The records a client context has received, by their content type (23: application data).
struct record_counter {
  int application_records = 0;
};

void count_records(int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                   void* arg) {
  // Called with the header of every record read: its first byte is the record's outer type,
  // which TLS 1.3 sets to application data for everything after the ServerHello.
  if (write_p != 0 || content_type != SSL3_RT_HEADER || len < 1) return;
  if (static_cast<const unsigned char*>(buf)[0] == SSL3_RT_APPLICATION_DATA)
    ++static_cast<record_counter*>(arg)->application_records;
}

class fixture {
 public:
  fixture() : old_sigpipe_(std::signal(SIGPIPE, SIG_IGN)) {
    const auto database = dir_ / "registry.db";
    const auto made = parley::registry::tls::load_or_create(
        parley::registry::tls::default_certificate_path(database),
        parley::registry::tls::default_key_path(database), true);
    REQUIRE(made.found);
    fingerprint = made.found->fingerprint;
    std::string error;
    server_context = net::tls_context::server(made.found->certificate, made.found->key, error);
    INFO(error);
    REQUIRE(server_context);
    acceptor.context = server_context.get();
    acceptor.refuse_plain = std::make_shared<const std::string>(frame_of("plain refused"));
    acceptor.refuse_tls = std::make_shared<const std::string>(frame_of("tls refused"));
  }
  ~fixture() { std::signal(SIGPIPE, old_sigpipe_); }
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  // A client context that pins `pin` (and records what it saw).
  std::unique_ptr<net::tls_context> pinning(std::string pin) {
    std::string error;
    auto context = net::tls_context::client_pinned(
        [this, pin](const std::string& seen) {
          seen_fingerprint = seen;
          return seen == pin;
        },
        error);
    INFO(error);
    REQUIRE(context);
    return context;
  }

  // Connects a client (TLS on `client_context`, or plain if null) to a server connection that
  // takes `rules`; both are made but not started.
  void connect(const net::tls_context* client_context, const net::tls_acceptor& rules) {
    tcp::acceptor listener(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket near(io);
    tcp::socket far(io);
    far.connect(listener.local_endpoint());
    listener.accept(near);
    server.connection = net::framed_connection::create(std::move(near), limits);
    server.connection->accept_tls(rules);
    client.connection = net::framed_connection::create(std::move(far), limits);
    if (client_context) client.connection->connect_tls(*client_context);
  }

  asio::io_context io;
  std::string fingerprint;
  std::string seen_fingerprint;
  std::unique_ptr<net::tls_context> server_context;
  net::tls_acceptor acceptor;
  net::connection_limits limits;
  side server;
  side client;

 private:
  void (*old_sigpipe_)(int);
  parley::test::scratch_dir dir_{"parley-tls-connection"};
};

}  // namespace

TEST_CASE("tls connection: frames both ways, the first ones sent before the handshake") {
  fixture f;
  const auto pinned = f.pinning(f.fingerprint);
  f.connect(pinned.get(), f.acceptor);
  f.server.start();
  f.client.start();
  // Queued before a byte of the handshake has moved: they wait for it.
  std::vector<std::string> sent;
  for (int i = 0; i < 3; ++i) {
    sent.push_back("early " + std::to_string(i));
    REQUIRE(f.client.connection->send(frame_of(sent.back())));
  }
  REQUIRE(run_until(f.io, [&] { return f.server.frames.size() == sent.size(); }));
  CHECK(f.server.frames == sent);
  CHECK(f.seen_fingerprint == f.fingerprint);
  CHECK(f.server.connection->is_tls());
  CHECK(f.client.connection->tls()->peer_fingerprint() == f.fingerprint);

  // Then a maximal body and many small frames, from the server.
  std::vector<std::string> back;
  back.push_back(std::string(net::connection_limits{}.max_frame_body, 'x'));
  for (int i = 0; i < 500; ++i) back.push_back("reply " + std::to_string(i));
  for (const auto& body : back) REQUIRE(f.server.connection->send(frame_of(body)));
  REQUIRE(run_until(f.io, [&] { return f.client.frames.size() == back.size(); }));
  CHECK((f.client.frames == back));
  CHECK(f.server.closed.calls == 0);
  CHECK(f.client.closed.calls == 0);
}

TEST_CASE("tls connection: a turn's frames are sealed into full records, not one per frame") {
  fixture f;
  const auto pinned = f.pinning(f.fingerprint);
  record_counter records;
  SSL_CTX_set_msg_callback(pinned->native(), count_records);
  SSL_CTX_set_msg_callback_arg(pinned->native(), &records);
  f.connect(pinned.get(), f.acceptor);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("hello")));
  REQUIRE(run_until(f.io, [&] { return f.server.frames.size() == 1; }));
  // Handshake records after the ServerHello count too: start from here.
  const int before = records.application_records;

  // 200 frames of 100 bytes in one turn: 20,800 bytes, two records of at most 16 KiB.
  constexpr int frame_count = 200;
  for (int i = 0; i < frame_count; ++i)
    REQUIRE(f.server.connection->send(frame_of(std::string(100, static_cast<char>('a' + i % 26)))));
  REQUIRE(run_until(f.io, [&] { return f.client.frames.size() == frame_count; }));
  CHECK(records.application_records - before == 2);
}

TEST_CASE("tls connection: a key that does not match the pin fails before any frame is sent") {
  fixture f;
  const auto pinned = f.pinning("SHA256:somebody-else");
  f.connect(pinned.get(), f.acceptor);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("the password")));
  REQUIRE(
      run_until(f.io, [&] { return f.client.closed.calls == 1 && f.server.closed.calls == 1; }));
  CHECK(f.client.closed.cause == net::close_cause::tls_failed);
  CHECK(f.server.closed.cause == net::close_cause::tls_failed);
  CHECK(f.server.frames.empty());
  CHECK(f.seen_fingerprint == f.fingerprint);
  CHECK(f.client.connection->tls()->verify_error() != "");
}

TEST_CASE("tls connection: a plain client of a TLS server is told so, in plain, and closed") {
  fixture f;
  f.connect(nullptr, f.acceptor);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("hello in clear")));
  REQUIRE(
      run_until(f.io, [&] { return f.client.closed.calls == 1 && f.server.closed.calls == 1; }));
  CHECK(f.client.frames == std::vector<std::string>{"plain refused"});
  CHECK(f.client.closed.cause == net::close_cause::eof);
  CHECK(f.server.closed.cause == net::close_cause::tls_mismatch);
  CHECK(f.server.frames.empty());
  CHECK_FALSE(f.server.connection->is_tls());
}

TEST_CASE("tls connection: a TLS client of a plain server ends at once, and the server says why") {
  fixture f;
  const auto pinned = f.pinning(f.fingerprint);
  net::tls_acceptor plain_only = f.acceptor;
  plain_only.context = nullptr;
  f.connect(pinned.get(), plain_only);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("the password")));
  REQUIRE(
      run_until(f.io, [&] { return f.client.closed.calls == 1 && f.server.closed.calls == 1; }));
  CHECK(f.client.closed.cause == net::close_cause::tls_mismatch);
  CHECK(f.server.closed.cause == net::close_cause::tls_mismatch);
  CHECK(f.server.frames.empty());
  CHECK(f.client.frames.empty());
}

TEST_CASE("tls connection: a plain client of a plain server that peeks is served as before") {
  fixture f;
  net::tls_acceptor plain_only = f.acceptor;
  plain_only.context = nullptr;
  f.connect(nullptr, plain_only);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("hello")));
  REQUIRE(run_until(f.io, [&] { return f.server.frames.size() == 1; }));
  REQUIRE(f.server.connection->send(frame_of("welcome")));
  REQUIRE(run_until(f.io, [&] { return f.client.frames.size() == 1; }));
  CHECK(f.client.frames[0] == "welcome");
}

TEST_CASE("tls connection: a refusal sent before the first byte waits for the handshake") {
  fixture f;
  const auto pinned = f.pinning(f.fingerprint);
  f.connect(pinned.get(), f.acceptor);
  f.server.start();
  // As the registry refuses a connection over --max-per-address: at once, before reading.
  REQUIRE(f.server.connection->send(frame_of("too many connections")));
  f.server.connection->close_after_flush();
  f.client.start();
  REQUIRE(
      run_until(f.io, [&] { return f.client.closed.calls == 1 && f.server.closed.calls == 1; }));
  CHECK(f.client.frames == std::vector<std::string>{"too many connections"});
  // close_notify, then the end: the client sees a clean end.
  CHECK(f.client.closed.cause == net::close_cause::eof);
  CHECK(f.server.closed.cause == net::close_cause::closed_locally);
}

TEST_CASE("tls connection: paused reading keeps records read ahead, and resuming delivers them") {
  fixture f;
  const auto pinned = f.pinning(f.fingerprint);
  f.connect(pinned.get(), f.acceptor);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("first")));
  REQUIRE(run_until(f.io, [&] { return f.server.frames.size() == 1; }));
  f.server.connection->pause_reading();
  std::vector<std::string> sent{"first"};
  for (int i = 0; i < 300; ++i) {
    sent.push_back(std::string(200, 'p') + std::to_string(i));
    REQUIRE(f.client.connection->send(frame_of(sent.back())));
  }
  // Everything has left the client; none of it is handed over while paused.
  REQUIRE(run_until(f.io, [&] { return f.client.connection->queued_bytes() == 0; }));
  f.io.run_for(50ms);
  CHECK(f.server.frames.size() <= 2);
  f.server.connection->resume_reading();
  REQUIRE(run_until(f.io, [&] { return f.server.frames.size() == sent.size(); }));
  CHECK((f.server.frames == sent));
}

TEST_CASE("tls connection: a reader that falls behind and catches up gets every frame intact") {
  // The kernel's buffers fill (OpenSSL holds a sealed record it could not write and must be
  // given the same bytes again), records end inside frames, and the rest waits in the queue.
  fixture f;
  f.limits.max_queued_bytes = 64 * 1024 * 1024;
  const auto pinned = f.pinning(f.fingerprint);
  f.connect(pinned.get(), f.acceptor);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("hello")));
  REQUIRE(run_until(f.io, [&] { return f.server.frames.size() == 1; }));
  f.client.connection->pause_reading();
  std::vector<std::string> sent;
  // Sizes that do not divide a record: 1,000 frames of 7,001 to 10,000 bytes, 8.5 MB in all.
  for (int i = 0; i < 1000; ++i) {
    sent.push_back(std::to_string(i) + ':' +
                   std::string(7000 + static_cast<std::size_t>(i * 37 % 3000), 'a' + i % 26));
    REQUIRE(f.server.connection->send(frame_of(sent.back())));
    if (i % 50 == 0) f.io.poll();
  }
  f.io.run_for(50ms);
  // Some of it waits on the server's side: the kernel did not take it all.
  CHECK(f.server.connection->queued_bytes() > 0);
  f.client.connection->resume_reading();
  REQUIRE(run_until(f.io, [&] { return f.client.frames.size() == sent.size(); }));
  CHECK((f.client.frames == sent));
  CHECK(f.server.connection->queued_bytes() == 0);
  CHECK(f.server.closed.calls == 0);
}

TEST_CASE("tls connection: a reader slower than its queue bound is dropped") {
  fixture f;
  f.limits.max_queued_bytes = 256 * 1024;
  const auto pinned = f.pinning(f.fingerprint);
  f.connect(pinned.get(), f.acceptor);
  f.server.start();
  f.client.start();
  REQUIRE(f.client.connection->send(frame_of("hello")));
  REQUIRE(run_until(f.io, [&] { return f.server.frames.size() == 1; }));
  // The client stops reading: the kernel's buffers fill, then the server's queue.
  f.client.connection->pause_reading();
  const std::string body(8 * 1024, 's');
  bool dropped = false;
  for (int i = 0; i < 2000 && !dropped; ++i) {
    dropped = !f.server.connection->send(frame_of(body));
    f.io.poll();
  }
  REQUIRE(run_until(f.io, [&] { return f.server.closed.calls == 1; }));
  CHECK(f.server.closed.cause == net::close_cause::queue_overflow);
}

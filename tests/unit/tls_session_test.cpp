// TLS sessions over a non-blocking socket pair in one process (shared/net/tls_session): the
// handshake in both roles with the registry's own kind of key, data both ways, a write that
// wants to write retried with the same bytes, close_notify seen as the end, a closed connection
// and a record cut short as failures, and the fingerprint the peer will pin.
#include "shared/net/tls_session.hpp"
#include "registry/tls/identity.hpp"
#include "tests/unit/scratch_dir.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using parley::net::tls_context;
using parley::net::tls_session;
using status = tls_session::status;

namespace {

class fixture {
 public:
  // OpenSSL writes with write(2), and answers a broken record or an unexpected end with an
  // alert: to a socket whose other end has gone, that raises SIGPIPE, which by default ends the
  // process (docs/design/issue-11.md, 1.1). The programs will ignore it as this fixture does.
  fixture() : old_sigpipe_(std::signal(SIGPIPE, SIG_IGN)) {
    const auto database = dir_ / "registry.db";
    const auto made = parley::registry::tls::load_or_create(
        parley::registry::tls::default_certificate_path(database),
        parley::registry::tls::default_key_path(database), true);
    REQUIRE(made.found);
    fingerprint = made.found->fingerprint;
    std::string error;
    server_context = tls_context::server(made.found->certificate, made.found->key, error);
    INFO(error);
    REQUIRE(server_context);
    client_context = tls_context::client(error);
    REQUIRE(client_context);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    server_fd = fds[0];
    client_fd = fds[1];
    server = std::make_unique<tls_session>(*server_context, server_fd);
    client = std::make_unique<tls_session>(*client_context, client_fd);
  }
  ~fixture() {
    server.reset();
    client.reset();
    if (server_fd >= 0) ::close(server_fd);
    if (client_fd >= 0) ::close(client_fd);
    std::signal(SIGPIPE, old_sigpipe_);
  }
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  // Both sides step until both are done (a socket pair never needs more than a few rounds).
  void handshake() {
    bool server_done = false;
    bool client_done = false;
    for (int round = 0; round < 20 && !(server_done && client_done); ++round) {
      if (!client_done) {
        const auto r = client->handshake();
        INFO(r.reason);
        REQUIRE((r.what == status::done || r.what == status::want_read));
        client_done = r.what == status::done;
      }
      if (!server_done) {
        const auto r = server->handshake();
        INFO(r.reason);
        REQUIRE((r.what == status::done || r.what == status::want_read));
        server_done = r.what == status::done;
      }
    }
    REQUIRE(server_done);
    REQUIRE(client_done);
  }

  std::string fingerprint;
  std::unique_ptr<tls_context> server_context;
  std::unique_ptr<tls_context> client_context;
  int server_fd = -1;
  int client_fd = -1;
  std::unique_ptr<tls_session> server;
  std::unique_ptr<tls_session> client;

 private:
  void (*old_sigpipe_)(int);
  parley::test::scratch_dir dir_{"parley-tls-session"};
};

// Everything readable now, until the session wants to read.
std::string read_all(tls_session& s) {
  std::string got;
  char buffer[4096];
  for (;;) {
    const auto r = s.read(buffer, sizeof buffer);
    if (r.what != status::done) {
      if (r.what != status::want_read)
        MESSAGE("read ended with status ", static_cast<int>(r.what), ": ", r.reason);
      break;
    }
    got.append(buffer, r.bytes);
  }
  return got;
}

}  // namespace

TEST_CASE("tls session: a handshake, data both ways, and the key the peer will pin") {
  fixture f;
  // Before the handshake, a read wants to read (nothing has arrived).
  char byte;
  CHECK(f.server->read(&byte, 1).what == status::want_read);
  f.handshake();
  CHECK(f.client->handshake_done());
  CHECK(f.client->protocol() == "TLSv1.3");
  CHECK(f.client->peer_fingerprint() == f.fingerprint);
  // The client sent no certificate.
  CHECK(f.server->peer_fingerprint().empty());

  const std::string hello = "hello over TLS";
  const auto w = f.client->write(hello.data(), hello.size());
  REQUIRE(w.what == status::done);
  CHECK(w.bytes == hello.size());
  CHECK(read_all(*f.server) == hello);
  const std::string answer(20000, 'y');  // more than one record
  REQUIRE(f.server->write(answer.data(), answer.size()).what == status::done);
  const std::string echoed = read_all(*f.client);
  CHECK(echoed.size() == answer.size());
  CHECK((echoed == answer));
  CHECK_FALSE(f.client->has_pending());

  // Nothing in clear on the wire: what the socket carries is records, not the text.
  const std::string secret = "my password is jedi";
  REQUIRE(f.client->write(secret.data(), secret.size()).what == status::done);
  char raw[4096];
  const ssize_t n = ::recv(f.server_fd, raw, sizeof raw, MSG_PEEK);
  REQUIRE(n > 0);
  CHECK(std::string(raw, static_cast<std::size_t>(n)).find("jedi") == std::string::npos);
  CHECK(static_cast<unsigned char>(raw[0]) == 0x17);  // application_data record
  CHECK(read_all(*f.server) == secret);
}

TEST_CASE("tls session: a full socket makes a write want to write, and the same bytes go later") {
  fixture f;
  f.handshake();
  const std::string block(16384, 'z');
  std::size_t sent = 0;
  tls_session::result r;
  for (int i = 0; i < 10000; ++i) {
    r = f.client->write(block.data(), block.size());
    if (r.what != status::done) break;
    sent += block.size();
  }
  REQUIRE(r.what == status::want_write);
  // The other side reads; the retry with the same bytes then completes.
  std::size_t received = read_all(*f.server).size();
  for (int i = 0; i < 100 && r.what == status::want_write; ++i) {
    r = f.client->write(block.data(), block.size());
    received += read_all(*f.server).size();
  }
  REQUIRE(r.what == status::done);
  sent += block.size();
  received += read_all(*f.server).size();
  CHECK(received == sent);
}

TEST_CASE("tls session: how a session ends") {
  fixture f;
  f.handshake();
  SUBCASE("close_notify is the end") {
    REQUIRE(f.client->shutdown().what == status::done);
    char buffer[16];
    CHECK(f.server->read(buffer, sizeof buffer).what == status::eof);
  }
  SUBCASE("a connection closed without close_notify is a failure, not an end") {
    ::close(f.client_fd);
    f.client_fd = -1;
    char buffer[16];
    const auto r = f.server->read(buffer, sizeof buffer);
    CHECK(r.what == status::failed);
    CHECK_FALSE(r.reason.empty());
  }
  SUBCASE("a record cut short, then the connection closed") {
    const std::string text = "a whole message";
    REQUIRE(f.client->write(text.data(), text.size()).what == status::done);
    char raw[512];
    const ssize_t n = ::recv(f.server_fd, raw, sizeof raw, 0);
    REQUIRE(n > 6);
    // Put back all but the record's last byte, then close.
    int again[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, again) == 0);
    REQUIRE(::write(again[1], raw, static_cast<std::size_t>(n - 1)) == n - 1);
    ::close(again[1]);
    ::dup2(again[0], f.server_fd);
    ::close(again[0]);
    char buffer[64];
    CHECK(f.server->read(buffer, sizeof buffer).what == status::failed);
  }
  SUBCASE("a write to a closed connection fails") {
    ::close(f.server_fd);
    f.server_fd = -1;
    const std::string text(100000, 'q');
    tls_session::result r;
    for (int i = 0; i < 4; ++i) {
      r = f.client->write(text.data(), text.size());
      if (r.what == status::failed) break;
    }
    CHECK(r.what == status::failed);
  }
}

TEST_CASE("tls session: a server whose key is not its certificate's is refused") {
  const parley::test::scratch_dir scratch("parley-tls-other");
  const fs::path& dir = scratch.path();
  namespace id = parley::registry::tls;
  for (const char* name : {"a.db", "b.db"})
    REQUIRE(id::load_or_create(id::default_certificate_path(dir / name),
                               id::default_key_path(dir / name), true)
                .found);
  std::string error;
  CHECK(tls_context::server(id::default_certificate_path(dir / "a.db"),
                            id::default_key_path(dir / "a.db"), error));
  const auto mixed = tls_context::server(id::default_certificate_path(dir / "a.db"),
                                         id::default_key_path(dir / "b.db"), error);
  CHECK_FALSE(mixed);
  CHECK(error.find("cannot use the TLS certificate") != std::string::npos);
  CHECK(error.find("b.db.tls-key.pem") != std::string::npos);
}

TEST_CASE("tls session: a plain answer to the client's hello is told apart from a broken record") {
  fixture f;
  // A plain server's frame, already there when the client's first step reads (as when it
  // arrives between the ClientHello and the read that follows it).
  const unsigned char plain_frame[] = {0x00, 0x00, 0x00, 0x02, 0x05, 0x06};
  REQUIRE(::write(f.server_fd, plain_frame, sizeof plain_frame) ==
          static_cast<ssize_t>(sizeof plain_frame));
  const auto r = f.client->handshake();
  CHECK(r.what == status::failed);
  CHECK(r.not_tls);

  // A TLS record of garbage is a TLS failure, not another protocol.
  fixture g;
  REQUIRE(g.client->handshake().what == status::want_read);
  const unsigned char garbage_record[] = {0x16, 0x03, 0x03, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff};
  REQUIRE(::write(g.server_fd, garbage_record, sizeof garbage_record) ==
          static_cast<ssize_t>(sizeof garbage_record));
  const auto s = g.client->handshake();
  CHECK(s.what == status::failed);
  CHECK_FALSE(s.not_tls);
}

// SPEC 11's tickets under attack, and at rest: a flood of guessed tickets for a user waiting for
// its resume keeps neither that user nor anyone else from going on, and is felt by the guessing
// address only; the database holds a ticket's digest, never the ticket.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>
#include <sodium.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace parley::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

proto::resume_ticket take_ticket(raw_client& client) {
  return client.expect<proto::session_ticket>().ticket;
}

std::string bytes_of(const proto::resume_ticket& t) {
  return std::string(reinterpret_cast<const char*>(t.data()), t.size());
}

// The database and its write-ahead log, as bytes.
std::string database_bytes(const registry_fixture& registry) {
  std::string all = read_file(registry.database_path());
  const fs::path wal = registry.database_path().string() + "-wal";
  if (fs::exists(wal)) all += read_file(wal);
  return all;
}

}  // namespace

TEST_CASE("resume guard: a flood of guessed tickets neither stops the resume nor shows") {
  // A long window, so that the flood (TLS handshakes, slower under the sanitizers) fits in it.
  registry_fixture registry({}, {"--resume-grace", "60"});
  auto leia = logged_in_peer(registry, "leia");
  proto::resume_ticket ticket{};
  {
    raw_client yoda(registry.port());
    yoda.log_in("yoda", password_of("yoda"));
    ticket = take_ticket(yoda);
    leia->expect_line("yoda logged in");
  }  // yoda's connection is gone: the session waits for its resume.
  const auto leia_seen = leia->output().text().size();

  // The attack, bounded: guesses from one address, each on a connection of its own.
  // More than the address's failed-login bucket (60) holds.
  constexpr int guesses = 100;
  const auto started = std::chrono::steady_clock::now();
  int refused = 0;
  for (int i = 0; i < guesses; ++i) {
    raw_client guesser(registry.port());
    guesser.send(proto::client_hello{proto::protocol_version, {"guesser"}});
    proto::resume_ticket guess{};
    randombytes_buf(guess.data(), guess.size());
    guesser.send(proto::resume_session{{"yoda"}, guess});
    if (guesser.expect<proto::resume_reply>().result == proto::resume_result::not_resumable)
      ++refused;
  }
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(guesses << " guesses in "
               << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(refused == guesses);

  // Others are served meanwhile, and see nothing of it.
  CHECK(answer_to(*leia, "whoelse") == std::vector<std::string>{"yoda"});
  // The victim resumes from the very address that spent its failed-login tokens.
  raw_client again(registry.port());
  again.send(proto::client_hello{proto::protocol_version, {"parley-e2e"}});
  again.send(proto::resume_session{{"yoda"}, ticket});
  CHECK(again.expect<proto::resume_reply>().result == proto::resume_result::resumed);
  again.expect<proto::stored_end>();
  leia->send_line("message yoda still there?");
  CHECK(again.expect<proto::delivery>().text.value == "still there?");
  CHECK(leia->output().text().find("yoda logged", leia_seen) == std::string::npos);

  // The control: the flood was felt, by its address only: a password from it is not checked.
  raw_client password(registry.port());
  password.send(proto::client_hello{proto::protocol_version, {"parley-e2e"}});
  password.send(proto::login_name{{"luke"}});
  CHECK(password.expect<proto::login_reply>().result == proto::login_result::ask_password);
  password.send(proto::login_password{{std::string(password_of("luke"))}});
  CHECK(password.expect<proto::login_reply>().result ==
        proto::login_result::too_many_login_attempts);
  // The refusals are in the log, rate-limited, without a ticket.
  CHECK(registry.log().find("resume refused") != std::string::npos);
}

TEST_CASE("resume guard: the database keeps a ticket's digest, never the ticket") {
  registry_fixture registry;
  raw_client yoda(registry.port());
  yoda.log_in("yoda", password_of("yoda"));
  const auto ticket = take_ticket(yoda);
  // The ticket is sent once its digest is committed: it is in the file (or its log) now.
  std::array<unsigned char, 32> digest{};
  constexpr std::string_view key = "parley resume ticket v4";
  crypto_generichash(digest.data(), digest.size(), ticket.data(), ticket.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  const auto stored = database_bytes(registry);
  CHECK(stored.find(std::string(reinterpret_cast<const char*>(digest.data()), digest.size())) !=
        std::string::npos);
  CHECK(stored.find(bytes_of(ticket)) == std::string::npos);
  // Nor is it in the log.
  CHECK(registry.log().find(bytes_of(ticket)) == std::string::npos);
}

}  // namespace parley::e2e

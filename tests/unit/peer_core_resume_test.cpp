// SPEC 11 in the peer core: the session's ticket, what a lost link prints and asks the shell
// for, registry commands while reconnecting, the resume itself and its answers, and giving up.
#include "peer/core/peer_core.hpp"
#include "tests/unit/peer_core_harness.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley;
using namespace parley::peer;
using namespace parley::peer::testing;

namespace {

const std::string lost = "Error. Lost connection to the registry";
const std::string reconnecting = "Reconnecting to the registry; private chats go on";
const std::string reconnected = "Reconnected to the registry";
const std::string token_a = "0123456789abcdef0123456789abcdef";

proto::resume_ticket ticket_of(std::uint8_t first) {
  proto::resume_ticket t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint8_t>(first + i);
  return t;
}

// Logged in as yoda with the private-chat port 40001 and a ticket, reconnecting on.
struct resumable {
  harness h{core_config{"> ", true}};
  resumable(bool with_ticket = true) {
    h.core.set_private_port(40001);
    h.log_in();
    if (with_ticket) h.receive(proto::session_ticket{ticket_of(7)});
    h.forget();
  }
  // leia asked, yoda said y, and her handshake came: a chat is open.
  void chat_with_leia() {
    const proto::chat_public_key leia_key{1};
    h.expect_chat("leia", token_a, leia_key);
    REQUIRE(h.open(leia_key).verdict == open_verdict::answer);
    REQUIRE(h.proven("leia", leia_key));
  }
};

}  // namespace

TEST_CASE("peer resume: a lost link with a ticket names what was in flight and reconnects") {
  resumable r;
  r.h.type("message luke are you there?");
  r.h.forget();
  r.h.disconnect();
  CHECK(r.h.lines == strings{lost,
                             "Error. Not confirmed by the registry: message luke are you there?",
                             reconnecting});
  CHECK(r.h.reconnect_asked);
  CHECK_FALSE(r.h.exit_code);
  CHECK(r.h.core.reconnecting());
  CHECK(r.h.last_prompt() == "> ");
}

TEST_CASE("peer resume: the new link announces the port and resumes with the ticket") {
  resumable r;
  r.h.disconnect();
  r.h.forget();
  r.h.reconnected();
  CHECK(r.h.sent ==
        msgs{proto::private_listen{40001}, proto::resume_session{"yoda", ticket_of(7)}});
  r.h.forget();
  // What is typed while the answer is awaited waits for it (a round trip), as at login.
  r.h.type("whoelse");
  CHECK(r.h.lines.empty());
  CHECK(r.h.sent.empty());
  r.h.receive(proto::resume_reply{proto::resume_result::resumed});
  CHECK(r.h.lines == strings{reconnected});
  CHECK_FALSE(r.h.core.reconnecting());
  // Stored messages may follow; commands wait for their end, as at login.
  CHECK(r.h.sent.empty());
  r.h.receive(proto::stored_end{});
  CHECK(r.h.sent == msgs{proto::who_else{}});
}

TEST_CASE("peer resume: a stored message shown before the loss is not shown again") {
  resumable r;
  r.h.receive(proto::stored_message{5, "luke", "before", 0});
  r.h.disconnect();
  r.h.reconnected();
  r.h.receive(proto::resume_reply{proto::resume_result::resumed});
  r.h.forget();
  r.h.receive(proto::stored_message{5, "luke", "before", 0});
  r.h.receive(proto::stored_message{6, "luke", "while away", 0});
  r.h.receive(proto::stored_end{});
  CHECK(r.h.lines == strings{"luke: while away"});
  // Both confirmed, so the registry deletes them.
  CHECK(r.h.sent == msgs{proto::stored_received{5}, proto::stored_received{6}});
}

TEST_CASE("peer resume: activity while reconnecting is reported once the session is back") {
  resumable r;
  r.chat_with_leia();
  r.h.disconnect();
  r.h.forget();
  r.h.type("private leia still here");
  r.h.type("private leia and here");
  // The chat goes on; the registry is not sent anything meanwhile.
  CHECK(r.h.sent.empty());
  CHECK(r.h.chats.size() == 2);
  r.h.reconnected();
  r.h.forget();
  r.h.receive(proto::resume_reply{proto::resume_result::resumed});
  CHECK(r.h.sent == msgs{proto::activity{}});
}

TEST_CASE("peer resume: a session the registry cannot resume ends the peer, or leaves the chats") {
  SUBCASE("no chat open: exit 1") {
    resumable r;
    r.h.disconnect();
    r.h.reconnected();
    r.h.forget();
    r.h.receive(proto::resume_reply{proto::resume_result::not_resumable});
    CHECK(r.h.lines == strings{"Error. The registry could not resume the session",
                               "Start the peer again to log in"});
    CHECK(r.h.exit_code == exit_failure);
  }
  SUBCASE("a chat open: it goes on alone") {
    resumable r;
    r.chat_with_leia();
    r.h.disconnect();
    r.h.reconnected();
    r.h.forget();
    r.h.receive(proto::resume_reply{proto::resume_result::not_resumable});
    CHECK(r.h.lines == strings{"Error. The registry could not resume the session",
                               "Start the peer again to log in",
                               "Private chats go on; other commands need the registry"});
    CHECK_FALSE(r.h.exit_code);
    r.h.forget();
    r.h.type("whoelse");
    CHECK(r.h.lines == strings{"Error. Not connected to the registry"});
  }
}

TEST_CASE("peer resume: a re-login by ticket says what others saw") {
  resumable r;
  r.h.disconnect();
  r.h.reconnected();
  r.h.forget();
  r.h.receive(proto::resume_reply{proto::resume_result::relogged});
  CHECK(r.h.lines ==
        strings{reconnected, "The session had ended: others saw you log out and back in"});
}

TEST_CASE("peer resume: an attempt that loses its link before the answer asks for another") {
  resumable r;
  r.h.disconnect();
  r.h.reconnected();
  r.h.forget();
  r.h.disconnect();
  // Nothing printed again; the shell tries again.
  CHECK(r.h.lines.empty());
  CHECK(r.h.reconnect_asked);
  r.h.forget();
  r.h.reconnected();
  CHECK(r.h.sent.size() == 2);
}

TEST_CASE("peer resume: giving up ends the peer with 1 and says after how long") {
  resumable r;
  r.h.disconnect();
  r.h.forget();
  r.h.give_up(300);
  CHECK(r.h.lines == strings{"Error. Could not reconnect to the registry",
                             "Gave up after 300 s; start the peer again to log in"});
  CHECK(r.h.exit_code == exit_failure);
}

TEST_CASE("peer resume: logout while reconnecting exits 1 at once") {
  resumable r;
  r.h.disconnect();
  r.h.forget();
  r.h.type("logout");
  CHECK(r.h.exit_code == exit_failure);
  CHECK(r.h.sent.empty());
}

TEST_CASE("peer resume: a registry that stops resumably is a lost link; other ends are not") {
  SUBCASE("shutdown_resumable") {
    resumable r;
    r.h.receive(proto::session_end{proto::end_reason::shutdown_resumable});
    CHECK(r.h.lines == strings{lost, reconnecting});
    CHECK(r.h.reconnect_asked);
    // The link then closes: no second line.
    r.h.forget();
    r.h.disconnect();
    CHECK(r.h.lines.empty());
  }
  SUBCASE("resumed elsewhere") {
    resumable r;
    r.h.receive(proto::session_end{proto::end_reason::resumed_elsewhere});
    CHECK(r.h.lines == strings{"Error. The session was resumed elsewhere"});
    CHECK(r.h.exit_code == exit_failure);
  }
  SUBCASE("without a ticket, a lost link is the end as before") {
    resumable r(false);
    r.h.disconnect();
    CHECK(r.h.lines == strings{lost});
    CHECK(r.h.exit_code == exit_failure);
    CHECK_FALSE(r.h.reconnect_asked);
  }
  SUBCASE("with reconnecting off, shutdown_resumable is a shutdown") {
    harness h;
    h.log_in();
    h.receive(proto::session_ticket{ticket_of(7)});
    h.forget();
    h.receive(proto::session_end{proto::end_reason::shutdown_resumable});
    CHECK(h.lines == strings{"The registry has shut down"});
    CHECK(h.exit_code == exit_failure);
  }
}

TEST_CASE("peer resume: a resume attempt that meets a stopping registry tries again") {
  for (const auto reason : {proto::end_reason::shutdown, proto::end_reason::shutdown_resumable,
                            proto::end_reason::too_many_connections}) {
    CAPTURE(static_cast<int>(reason));
    resumable r;
    r.h.disconnect();
    r.h.reconnected();
    r.h.forget();
    r.h.receive(proto::session_end{reason});
    CHECK(r.h.lines.empty());
    CHECK(r.h.reconnect_asked);
    CHECK_FALSE(r.h.exit_code);
  }
}

TEST_CASE("peer resume: a logout in flight when the registry stops is done") {
  resumable r;
  r.h.type("logout");
  r.h.receive(proto::session_end{proto::end_reason::shutdown_resumable});
  CHECK(r.h.exit_code == exit_success);
  CHECK_FALSE(r.h.reconnect_asked);
}

TEST_CASE("peer resume: after a re-login the old ticket is not used again") {
  resumable r;
  r.h.disconnect();
  r.h.reconnected();
  r.h.receive(proto::resume_reply{proto::resume_result::relogged});
  r.h.receive(proto::stored_end{});
  r.h.forget();
  // Lost before the new session's ticket came: the end, as without a ticket.
  r.h.disconnect();
  CHECK(r.h.lines == strings{lost});
  CHECK(r.h.exit_code == exit_failure);
}

// The peer's session state machine (peer_core): login dialogues, in-order handling of input
// with a pending reply, every reply text, deliveries, presence, endings and exit codes.
#include "peer/core/peer_core.hpp"

#include "peer/core/texts.hpp"
#include "tests/unit/peer_core_harness.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace parley;
using namespace parley::peer;
using namespace parley::peer::testing;

// ---------------------------------------------------------------- login

TEST_CASE("peer core: prompts for the user name once connected") {
  harness h;
  h.connect();
  REQUIRE(h.prompts.size() == 1);
  CHECK(h.prompts[0] == prompt{"Username: ", false, false, false, prompt_kind::username});
  CHECK(h.sent.empty());
  CHECK(h.core.ready_for_input());
}

TEST_CASE("peer core: known user, correct password") {
  harness h;
  h.connect();
  h.type("yoda");
  CHECK(h.sent == msgs{proto::login_name{"yoda"}});
  // Waiting for the registry: nothing shown, type-ahead hidden, and no more lines wanted.
  CHECK(h.core.current_prompt() == prompt{"", true, false, false, prompt_kind::none});
  CHECK_FALSE(h.core.ready_for_input());
  h.login_reply(proto::login_result::ask_password);
  CHECK(h.core.current_prompt() == prompt{"Password: ", true, false, false, prompt_kind::password});
  h.type("wise");
  CHECK(h.sent == msgs{proto::login_name{"yoda"}, proto::login_password{"wise"}});
  h.login_reply(proto::login_result::welcome);
  CHECK(h.lines == strings{"Welcome to the greatest messaging application ever!"});
  CHECK(h.core.current_prompt() == prompt{"> ", false, true, false, prompt_kind::command});
  CHECK(h.core.logged_in());
  CHECK_FALSE(h.exit_code);
}

TEST_CASE("peer core: a new user chooses a password") {
  harness h;
  h.connect();
  h.type("rey");
  h.login_reply(proto::login_result::ask_new_password);
  CHECK(h.last_prompt() == "This is a new user. Enter a password: ");
  CHECK(h.core.current_prompt().hidden);

  SUBCASE("checked locally first") {
    h.type("has space");
    h.type("");
    h.type(std::string(129, 'p'));
    CHECK(h.lines == strings{"Error. Invalid password",
                             "A password is 1 to 128 visible ASCII characters, no spaces",
                             "Error. Invalid password",
                             "A password is 1 to 128 visible ASCII characters, no spaces",
                             "Error. Invalid password",
                             "A password is 1 to 128 visible ASCII characters, no spaces"});
    CHECK(h.sent.size() == 1);  // the name only
    CHECK(h.last_prompt() == "This is a new user. Enter a password: ");
  }
  SUBCASE("refused by the registry") {
    h.type("force");
    CHECK(h.sent.back() == proto::client_message{proto::login_password{"force"}});
    h.login_reply(proto::login_result::invalid_new_password);
    CHECK(h.lines == strings{"Error. Invalid password",
                             "A password is 1 to 128 visible ASCII characters, no spaces"});
    CHECK(h.last_prompt() == "This is a new user. Enter a password: ");
  }
  h.type("force2");
  h.login_reply(proto::login_result::welcome);
  CHECK(h.lines.back() == "Welcome to the greatest messaging application ever!");
}

TEST_CASE("peer core: an impossible user name is refused before anything is sent") {
  harness h;
  h.connect();
  for (const auto* bad : {"", "two words", "\x1b[2J", "0123456789012345678901234567890123"}) {
    h.forget();
    h.type(bad);
    CHECK(h.sent.empty());
    CHECK(h.lines == strings{"Error. Invalid username",
                             "A username is 1 to 32 visible ASCII characters, no spaces"});
    CHECK(h.last_prompt() == "Username: ");
  }
  h.type("yoda\r");
  CHECK(h.sent == msgs{proto::login_name{"yoda"}});
}

TEST_CASE("peer core: a user logged in elsewhere") {
  harness h;
  h.connect();
  h.type("yoda");
  h.login_reply(proto::login_result::already_logged_in);
  CHECK(h.lines == strings{"yoda is already logged in"});
  CHECK(h.last_prompt() == "Username: ");
  h.type("luke");
  CHECK(h.sent.back() == proto::client_message{proto::login_name{"luke"}});
}

TEST_CASE("peer core: wrong passwords, then the lockout") {
  harness h;
  h.connect();
  h.type("yoda");
  h.login_reply(proto::login_result::ask_password);
  h.type("bad1");
  h.login_reply(proto::login_result::invalid_password);
  CHECK(h.lines == strings{"Invalid Password. Please try again"});
  CHECK(h.last_prompt() == "Password: ");
  h.type("bad2");
  h.login_reply(proto::login_result::invalid_password);
  h.type("bad3");
  h.login_reply(proto::login_result::invalid_now_locked);
  CHECK(h.lines.back() ==
        "Invalid Password. Your account has been blocked. Please try again later");
  CHECK(h.exit_code == 1);
  CHECK(h.core.finished());
}

TEST_CASE("peer core: a locked account") {
  harness h;
  h.connect();
  h.type("yoda");
  h.login_reply(proto::login_result::ask_password);
  h.type("whatever");
  h.login_reply(proto::login_result::account_locked);
  CHECK(h.lines ==
        strings{"Your account is blocked due to multiple login failures. Please try again later"});
  CHECK(h.exit_code == 1);
}

TEST_CASE("peer core: SPEC 9.1's login refusals are shown and end the peer with code 1") {
  harness h;
  h.connect();
  SUBCASE("the address's failed-password budget") {
    h.type("yoda");
    h.login_reply(proto::login_result::ask_password);
    h.type("whatever");
    h.login_reply(proto::login_result::too_many_login_attempts);
    CHECK(h.lines == strings{"Too many login attempts from your address. Please try again later"});
  }
  SUBCASE("new accounts, refused at the name") {
    h.type("newbie");
    h.login_reply(proto::login_result::new_accounts_refused);
    CHECK(h.lines == strings{"New accounts are not being accepted from your address now"});
  }
  SUBCASE("the registry's password queue is full") {
    h.type("yoda");
    h.login_reply(proto::login_result::ask_password);
    h.type("whatever");
    h.login_reply(proto::login_result::registry_busy);
    CHECK(
        h.lines ==
        strings{"Error. The registry is too busy to check a password now. Please try again later"});
  }
  CHECK(h.exit_code == 1);
}

TEST_CASE("peer core: a password that cannot be right still goes to the registry, as empty") {
  harness h;
  h.connect();
  h.type("yoda");
  h.login_reply(proto::login_result::ask_password);
  h.type(std::string(200, 'p'));
  CHECK(h.sent.back() == proto::client_message{proto::login_password{""}});
  h.login_reply(proto::login_result::invalid_password);
  h.type("with\x01control");
  CHECK(h.sent.back() == proto::client_message{proto::login_password{""}});
  h.login_reply(proto::login_result::invalid_password);
  h.type("spaces are sent as typed\r");
  CHECK(h.sent.back() == proto::client_message{proto::login_password{"spaces are sent as typed"}});
}

TEST_CASE("peer core: a login timeout") {
  harness h;
  h.connect();
  h.type("yoda");
  h.login_reply(proto::login_result::ask_password);
  h.receive(proto::session_end{proto::end_reason::login_timeout});
  CHECK(h.lines == strings{"Error. Login timed out"});
  CHECK(h.exit_code == 1);
}

// ---------------------------------------------------------------- ordering

TEST_CASE("peer core: lines typed during a login step wait their turn") {
  harness h;
  h.connect();
  h.type("yoda");
  h.type("wise");
  h.type("whoelse");
  h.type("logout");
  CHECK(h.sent == msgs{proto::login_name{"yoda"}});
  h.login_reply(proto::login_result::ask_password);
  CHECK(h.sent == msgs{proto::login_name{"yoda"}, proto::login_password{"wise"}});
  h.login_reply(proto::login_result::welcome);
  // The stored messages come first: the typed lines wait for their end.
  CHECK(h.sent.back() == proto::client_message{proto::login_password{"wise"}});
  h.receive(proto::stored_end{});
  CHECK(h.sent.back() == proto::client_message{proto::who_else{}});
  h.receive(names({"luke", "leia"}));
  CHECK(h.lines == strings{"Welcome to the greatest messaging application ever!", "luke", "leia"});
  CHECK(h.sent.back() == proto::client_message{proto::logout_request{}});
  h.receive(proto::session_end{proto::end_reason::logged_out});
  CHECK(h.exit_code == 0);
}

TEST_CASE("peer core: one registry request at a time, replies in order") {
  harness h;
  h.log_in();
  h.type("message luke hi");
  h.type("help");
  h.type("block vader");
  h.type("bogus");
  CHECK(h.sent == msgs{proto::direct_message{"luke", "hi"}});
  CHECK(h.lines.empty());
  // A script is read a little ahead (a private line may pass the wait), no further.
  CHECK(h.core.ready_for_input());
  // Something that is not a reply is shown at once, queue or not.
  h.receive(proto::delivery{"leia", "hello", proto::delivery_kind::direct});
  CHECK(h.lines == strings{"leia: hello"});
  h.reply(proto::outcome::message_delivered);
  // help (local) ran, then block was sent and waits.
  CHECK(h.lines.size() == 1 + command_table().size());
  CHECK(h.sent.back() == proto::client_message{proto::block_user{"vader"}});
  h.reply(proto::outcome::blocked, "vader");
  CHECK(h.lines[h.lines.size() - 2] == "vader is blocked");
  CHECK(h.lines.back() == "Error. Invalid command");
  CHECK(h.core.ready_for_input());
}

TEST_CASE("peer core: a script is read ahead only so far while a reply is awaited") {
  harness h;
  h.log_in();
  h.type("whoelse");
  for (std::size_t i = 0; i + 1 < max_read_ahead_lines; ++i) h.type("help");
  CHECK(h.core.ready_for_input());
  h.type("help");
  CHECK_FALSE(h.core.ready_for_input());
  h.reply(proto::outcome::no_other_users_online);
  CHECK(h.core.ready_for_input());
  // Logging out is waited for without reading on.
  h.type("logout");
  CHECK_FALSE(h.core.ready_for_input());
}

TEST_CASE("peer core: the queue of waiting lines is bounded") {
  harness h;
  h.log_in();
  h.type("whoelse");
  for (std::size_t i = 0; i < max_pending_lines; ++i) h.type("help");
  CHECK(h.lines.empty());
  h.type("help");
  CHECK(h.lines == strings{"Error. Too many pending commands"});
}

TEST_CASE("peer core: a user list may come in several chunks") {
  harness h;
  h.log_in();
  h.type("whoelsesince 60");
  CHECK(h.sent == msgs{proto::who_else_since{60}});
  h.type("whoelse");
  h.receive(names({"a", "b"}, false, proto::user_query::whoelsesince));
  CHECK(h.sent.size() == 1);
  h.receive(names({"c"}, true, proto::user_query::whoelsesince));
  CHECK(h.lines == strings{"a", "b", "c"});
  CHECK(h.sent.back() == proto::client_message{proto::who_else{}});
  h.reply(proto::outcome::no_other_users_online);
  CHECK(h.lines.back() == "No other users online");
  CHECK(h.core.ready_for_input());
}

// ---------------------------------------------------------------- commands and replies

TEST_CASE("peer core: each command sends its message") {
  harness h;
  h.log_in();
  const auto sends = [&](std::string line, proto::client_message expected) {
    h.forget();
    h.type(std::move(line));
    REQUIRE(h.sent.size() == 1);
    CHECK(h.sent[0] == expected);
    h.reply(proto::outcome::broadcast_sent);  // any reply ends the wait
  };
  sends("message luke hi there", proto::direct_message{"luke", "hi there"});
  sends("broadcast all of you", proto::broadcast_message{"all of you"});
  sends("block vader ", proto::block_user{"vader"});
  sends("unblock vader", proto::unblock_user{"vader"});
  sends("whoelse", proto::who_else{});
  sends("whoelsesince 0", proto::who_else_since{0});
}

TEST_CASE("peer core: every reply text") {
  harness h;
  h.log_in();
  const auto shows = [&](proto::outcome outcome, std::string subject, strings expected) {
    h.forget();
    h.type("message luke hi");
    h.reply(outcome, std::move(subject));
    CHECK(h.lines == expected);
    CHECK(h.core.ready_for_input());
  };
  using proto::outcome;
  shows(outcome::message_delivered, "", {});
  shows(outcome::message_stored, "", {});
  shows(outcome::invalid_user, "", {"Error. Invalid user"});
  shows(outcome::cannot_message_self, "", {"Error. Cannot message self"});
  shows(outcome::blocked_by_recipient, "",
        {"Your message could not be delivered as the recipient has blocked you"});
  shows(outcome::broadcast_sent, "", {});
  shows(outcome::broadcast_partial, "", {"Your message could not be delivered to some recipients"});
  shows(outcome::blocked, "vader", {"vader is blocked"});
  shows(outcome::already_blocked, "vader", {"Error. vader is already blocked"});
  shows(outcome::cannot_block_self, "", {"Error. Cannot block self"});
  shows(outcome::unblocked, "vader", {"vader is unblocked"});
  shows(outcome::not_blocked, "vader", {"Error. vader was not blocked"});
  shows(outcome::cannot_unblock_self, "", {"Error. Cannot unblock self"});
  shows(outcome::no_other_users_online, "", {"No other users online"});
  shows(outcome::no_other_users, "", {"No other users"});
  shows(outcome::store_failed, "", {"Error. The message could not be stored"});
  shows(outcome::mailbox_full, "luke", {"Error. luke has too many unread messages"});
}

TEST_CASE("peer core: local errors are printed and nothing is sent") {
  harness h;
  h.log_in();
  h.type("nonsense");
  h.type("message luke");
  h.type("block " + std::string(40, 'x'));
  h.type("broadcast " + std::string(5000, 'x'));
  h.type("broadcast \xff");
  h.type("whoelsesince -5");
  h.type("mesage luke hi");
  // A hint follows Error. Invalid command when there is one: the usage of a command named with
  // wrong arguments, the command a typo meant; never before it, never for other errors.
  CHECK(h.lines == strings{"Error. Invalid command", "Error. Invalid command",
                           "Usage: message <user> <message>", "Error. Invalid user",
                           "Error. Message too long", "Error. Message is not valid UTF-8",
                           "Error. Invalid command", "Usage: whoelsesince <seconds>",
                           "Error. Invalid command", "Did you mean message?"});
  CHECK(h.sent.empty());
}

TEST_CASE("peer core: blank lines are skipped, over-long lines are refused") {
  harness h;
  h.log_in();
  h.type("");
  h.type("   ");
  h.type("\r");
  CHECK(h.lines.empty());
  h.type(std::string(max_line_bytes + 1, 'x'));
  effects out;
  h.core.on_line_too_long(out);
  h.take(out);
  CHECK(h.lines == strings{"Error. Message too long", "Error. Message too long"});
  CHECK(h.sent.empty());
}

TEST_CASE("peer core: help is local and lists every command") {
  harness h;
  h.log_in();
  h.type("help");
  CHECK(h.sent.empty());
  REQUIRE(h.lines.size() == command_table().size());
  CHECK(h.lines.front().starts_with("message <user> <message>  "));
  CHECK(h.lines.back().starts_with("help [<command>]  "));
}

TEST_CASE("peer core: help <command> shows its usage, what it does and an example") {
  harness h;
  h.log_in();
  h.type("help message");
  CHECK(h.lines == strings{"Usage: message <user> <message>",
                           "Send a message (kept for <user> if offline)",
                           "Example: message luke Are you free at noon?"});
  h.lines.clear();
  // An alias names its command; the alias is listed.
  h.type("help privatestart");
  CHECK(h.lines == strings{"Usage: startprivate <user>", "Ask <user> for a private chat",
                           "Also: privatestart", "Example: startprivate luke"});
  h.lines.clear();
  h.type("help mesage");
  h.type("help nothing");
  CHECK(h.lines == strings{"Error. Invalid command", "Did you mean help message?",
                           "Error. Invalid command", "Usage: help [<command>]"});
  CHECK(h.sent.empty());
}

// ---------------------------------------------------------------- what others do

TEST_CASE("peer core: deliveries are shown escaped") {
  harness h;
  h.log_in();
  h.receive(proto::delivery{"luke", "hi there", proto::delivery_kind::direct});
  h.receive(proto::delivery{"luke", "\x1b[2Jgotcha", proto::delivery_kind::broadcast});
  h.receive(proto::delivery{"luke", "line\nyoda: forged", proto::delivery_kind::offline});
  h.receive(proto::delivery{"luke", "tab\tkept", proto::delivery_kind::direct});
  CHECK(h.lines == strings{"luke: hi there", "luke: \\e[2Jgotcha", "luke: line\\nyoda: forged",
                           "luke: tab\tkept"});
}

TEST_CASE("peer core: presence") {
  harness h;
  h.log_in();
  h.receive(proto::presence{"luke", 1});
  h.receive(proto::presence{"luke", 0});
  CHECK(h.lines == strings{"luke logged in", "luke logged out"});
}

TEST_CASE("peer core: a presence batch prints one line per change, in order") {
  harness h;
  h.log_in();
  proto::presence_batch batch;
  for (const auto& [user, online] :
       std::vector<std::pair<std::string, int>>{{"luke", 1}, {"leia", 1}, {"luke", 0}})
    batch.changes.items.push_back(proto::presence{user, static_cast<std::uint8_t>(online)});
  h.receive(batch);
  CHECK(h.lines == strings{"luke logged in", "leia logged in", "luke logged out"});
}

TEST_CASE("peer core: in a presence batch holding its own login, only what follows is shown") {
  harness h;
  h.log_in();
  proto::presence_batch batch;
  for (const auto& [user, online] : std::vector<std::pair<std::string, int>>{
           {"luke", 1}, {"yoda", 0}, {"leia", 1}, {"yoda", 1}, {"han", 1}, {"luke", 0}})
    batch.changes.items.push_back(proto::presence{user, static_cast<std::uint8_t>(online)});
  h.receive(batch);
  CHECK(h.lines == strings{"han logged in", "luke logged out"});
}

TEST_CASE("peer core: offline messages right after the welcome") {
  harness h;
  h.connect();
  h.type("yoda");
  h.login_reply(proto::login_result::ask_password);
  h.type("wise");
  h.login_reply(proto::login_result::welcome);
  h.sent.clear();
  h.receive(proto::stored_message{7, "luke", "while you were out", 1'700'000'000'000});
  CHECK(h.lines ==
        strings{"Welcome to the greatest messaging application ever!", "luke: while you were out"});
  // Confirmed, so the registry may delete it (SPEC 6).
  CHECK(h.sent == msgs{proto::stored_received{7}});
}

TEST_CASE("peer core: a stored message sent again is confirmed again but not shown twice") {
  harness h;
  h.log_in();
  h.lines.clear();
  h.sent.clear();
  h.receive(proto::stored_message{7, "luke", "once", 0});
  h.receive(proto::stored_message{8, "luke", "twice?", 0});
  // After a lost connection the registry sends what it has no confirmation of.
  h.receive(proto::stored_message{8, "luke", "twice?", 0});
  h.receive(proto::stored_message{9, "leia", "new", 0});
  CHECK(h.lines == strings{"luke: once", "luke: twice?", "leia: new"});
  CHECK(h.sent == msgs{proto::stored_received{7}, proto::stored_received{8},
                       proto::stored_received{8}, proto::stored_received{9}});
}

// ---------------------------------------------------------------- endings

TEST_CASE("peer core: logout") {
  harness h;
  h.log_in();
  h.type("logout");
  CHECK(h.sent == msgs{proto::logout_request{}});
  // Nothing more is taken once logout is on its way.
  h.type("whoelse");
  CHECK(h.sent.size() == 1);
  CHECK_FALSE(h.exit_code);
  SUBCASE("confirmed") { h.receive(proto::session_end{proto::end_reason::logged_out}); }
  SUBCASE("the registry just closes") { h.disconnect(); }
  CHECK(h.lines.empty());
  CHECK(h.exit_code == 0);
}

TEST_CASE("peer core: the registry ends the session") {
  harness h;
  h.log_in();
  SUBCASE("inactivity") {
    h.receive(proto::session_end{proto::end_reason::inactivity});
    CHECK(h.lines == strings{"You have been logged out due to inactivity"});
    CHECK(h.exit_code == 0);
  }
  SUBCASE("shutdown") {
    h.receive(proto::session_end{proto::end_reason::shutdown});
    CHECK(h.lines == strings{"The registry has shut down"});
    CHECK(h.exit_code == 1);
  }
  SUBCASE("protocol error") {
    h.receive(proto::session_end{proto::end_reason::protocol_error});
    CHECK(h.lines == strings{"Error. The registry closed the connection (protocol error)"});
    CHECK(h.exit_code == 1);
  }
  SUBCASE("lost connection") {
    h.disconnect();
    CHECK(h.lines == strings{"Error. Lost connection to the registry"});
    CHECK(h.exit_code == 1);
  }
  // Nothing happens after the end.
  h.forget();
  h.type("whoelse");
  h.receive(proto::presence{"luke", 1});
  h.disconnect();
  CHECK(h.lines.empty());
  CHECK(h.sent.empty());
}

TEST_CASE("peer texts: an address with its port, IPv6 in brackets") {
  CHECK(texts::cannot_connect("127.0.0.1", 4711, "Connection refused") ==
        "Error. Cannot connect to the registry at 127.0.0.1:4711: Connection refused");
  CHECK(texts::cannot_connect("::1", 4711, "Connection refused") ==
        "Error. Cannot connect to the registry at [::1]:4711: Connection refused");
  CHECK(texts::cannot_connect("chat.example.org", 3331, "Host not found") ==
        "Error. Cannot connect to the registry at chat.example.org:3331: Host not found");
}

TEST_CASE("peer core: lost connection before login") {
  harness h;
  h.connect();
  h.disconnect();
  CHECK(h.lines == strings{"Error. Lost connection to the registry"});
  CHECK(h.exit_code == 1);
}

TEST_CASE("peer core: end of input") {
  harness h;
  SUBCASE("at the user name prompt: quit") {
    h.connect();
    h.end_of_input();
    CHECK(h.sent.empty());
    CHECK(h.exit_code == 0);
  }
  SUBCASE("at the password prompt: quit") {
    h.connect();
    h.type("yoda");
    h.login_reply(proto::login_result::ask_password);
    h.end_of_input();
    CHECK(h.exit_code == 0);
  }
  SUBCASE("during a login step: quit once it is answered") {
    h.connect();
    h.type("yoda");
    h.end_of_input();
    CHECK_FALSE(h.exit_code);
    h.login_reply(proto::login_result::ask_password);
    CHECK(h.exit_code == 0);
  }
  SUBCASE("logged in: log out after the queued lines") {
    h.log_in();
    h.type("whoelse");
    h.type("block vader");
    h.end_of_input();
    CHECK(h.sent == msgs{proto::who_else{}});
    h.reply(proto::outcome::no_other_users_online);
    CHECK(h.sent.back() == proto::client_message{proto::block_user{"vader"}});
    h.reply(proto::outcome::blocked, "vader");
    CHECK(h.sent.back() == proto::client_message{proto::logout_request{}});
    h.receive(proto::session_end{proto::end_reason::logged_out});
    CHECK(h.exit_code == 0);
  }
}

TEST_CASE("peer core: interrupt") {
  harness h;
  SUBCASE("before login: Ctrl-C quits with 130") {
    h.connect();
    h.interrupt();
    CHECK(h.exit_code == 130);
    CHECK(h.sent.empty());
  }
  SUBCASE("before login: SIGTERM quits with 0") {
    h.connect();
    h.interrupt(peer_core::stop_signal::terminate);
    CHECK(h.exit_code == 0);
    CHECK(h.sent.empty());
  }
  SUBCASE("logged in: log out at once, dropping queued lines") {
    h.log_in();
    h.type("whoelse");
    h.type("block vader");
    h.interrupt();
    CHECK(h.sent == msgs{proto::who_else{}, proto::logout_request{}});
    // The pending answer is still shown.
    h.reply(proto::outcome::no_other_users_online);
    CHECK(h.lines == strings{"No other users online"});
    CHECK(h.sent.size() == 2);
    SUBCASE("confirmed") { h.receive(proto::session_end{proto::end_reason::logged_out}); }
    SUBCASE("a second interrupt quits") { h.interrupt(); }
    CHECK(h.exit_code == 0);
  }
}

// ---------------------------------------------------------------- completion

TEST_CASE("peer core: Tab completion") {
  harness h;
  h.connect();
  CHECK(h.core.completions("", "w").empty());  // not before login
  h.type("yoda");
  h.login_reply(proto::login_result::ask_password);
  h.type("wise");
  h.login_reply(proto::login_result::welcome);
  h.receive(proto::stored_end{});

  CHECK(h.core.completions("", "who") == strings{"whoelse", "whoelsesince"});
  CHECK(h.core.completions("", "st") == strings{"startprivate", "stopprivate"});
  CHECK(h.core.completions("", "x").empty());
  CHECK(h.core.completions("help ", "who") == strings{"whoelse", "whoelsesince"});

  h.receive(proto::presence{"luke", 1});
  h.receive(proto::delivery{"leia", "hi", proto::delivery_kind::direct});
  h.type("whoelse");
  h.receive(names({"lando", "yoda"}));
  h.type("message lobot hi");
  h.reply(proto::outcome::message_stored);
  h.type("message lumiya hi");
  h.reply(proto::outcome::invalid_user);

  CHECK(h.core.completions("message ", "l") == strings{"lando", "leia", "lobot", "luke"});
  CHECK(h.core.completions("block ", "lu") == strings{"luke"});
  CHECK(h.core.completions("privatestart ", "le") == strings{"leia"});
  // Not one's own name, not after a command without a user, not in a message.
  CHECK(h.core.completions("message ", "y").empty());
  CHECK(h.core.completions("broadcast ", "l").empty());
  CHECK(h.core.completions("message luke ", "l").empty());
  CHECK(h.core.completions("whoelse ", "l").empty());
}

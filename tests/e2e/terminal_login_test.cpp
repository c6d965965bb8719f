// The peer on a terminal before login (SPEC 11, issue 12): Ctrl-C quits at once with 130.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

namespace parley::e2e {

TEST_CASE("terminal: Ctrl-C before login quits at once with 130, end of input with 0") {
  registry_fixture registry;

  auto at_username = start_peer(registry);
  at_username->expect(text::username_prompt);
  at_username->send_raw("\x03");
  CHECK(at_username->wait_exit() == 130);

  auto at_password = start_peer(registry);
  at_password->expect(text::username_prompt);
  at_password->send_line("yoda");
  at_password->expect(text::password_prompt);
  at_password->send_raw("wi\x03");
  CHECK(at_password->wait_exit() == 130);

  auto ended = start_peer(registry);
  ended->expect(text::username_prompt);
  ended->close_input();
  CHECK(ended->wait_exit() == 0);

  // None of them got as far as a session: yoda can still log in, and nobody was announced.
  auto yoda = logged_in_peer(registry, "yoda");
  yoda->send_line("whoelse");
  yoda->expect_line(text::no_other_users_online);
  log_out(*yoda);
}

}  // namespace parley::e2e

// A test driver for peer_core: feeds it lines, registry messages and private-chat events, and
// keeps what it asked for, split into printed lines, prompts, registry sends and chat actions.
#pragma once

#include "peer/core/peer_core.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace parley::peer::testing {

// Drives a peer_core and keeps what it asked for, split into printed lines, prompts and sends.
struct harness {
  harness() = default;
  explicit harness(core_config config) : core(std::move(config)) {}
  peer_core core{core_config{"> "}};
  // The core asked the shell to reconnect (SPEC 11), since the last forget().
  bool reconnect_asked = false;
  std::vector<std::string> lines;
  std::vector<prompt> prompts;
  std::vector<proto::client_message> sent;
  std::vector<chat_action> chats;
  // The fake clock the core is given; tests move it.
  peer_core::time_point now{std::chrono::hours(1)};
  std::optional<int> exit_code;

  void take(effects& out) {
    for (const auto& item : out.display) {
      if (const auto* line = std::get_if<print_line>(&item)) lines.push_back(line->text);
      if (const auto* shown = std::get_if<show_prompt>(&item)) prompts.push_back(shown->prompt);
    }
    for (auto& message : out.sends) sent.push_back(message);
    for (auto& action : out.chats) chats.push_back(action);
    if (out.reconnect) reconnect_asked = true;
    if (out.exit_code) {
      REQUIRE_FALSE(exit_code);  // set once
      exit_code = out.exit_code;
    }
    out.clear();
  }
  void connect() {
    effects out;
    core.on_connected(out);
    take(out);
  }
  void type(std::string line) {
    effects out;
    core.on_line(std::move(line), out);
    take(out);
  }
  void receive(const proto::server_message& message) {
    effects out;
    core.on_message(message, now, out);
    take(out);
  }
  void login_reply(proto::login_result result) { receive(proto::login_reply{result}); }
  void reply(proto::outcome result, std::string subject = {}) {
    receive(proto::command_reply{result, proto::name_string(subject)});
  }
  void end_of_input() {
    effects out;
    core.on_input_closed(out);
    take(out);
  }
  void interrupt(peer_core::stop_signal signal = peer_core::stop_signal::interrupt) {
    effects out;
    core.on_interrupt(signal, out);
    take(out);
  }
  void disconnect() {
    effects out;
    core.on_disconnected(out);
    take(out);
  }
  // SPEC 11: a new link has said hello, or the shell stopped trying.
  void reconnected() {
    effects out;
    core.on_reconnected(out);
    take(out);
  }
  void give_up(long long seconds) {
    effects out;
    core.on_reconnect_given_up(seconds, out);
    take(out);
  }
  // Logs in as yoda, then forgets what that printed and sent.
  void log_in() {
    connect();
    type("yoda");
    login_reply(proto::login_result::ask_password);
    type("wise");
    login_reply(proto::login_result::welcome);
    // An empty mailbox: the registry says so at once.
    receive(proto::stored_end{});
    REQUIRE(core.logged_in());
    forget();
  }
  void forget() {
    reconnect_asked = false;
    lines.clear();
    prompts.clear();
    sent.clear();
    chats.clear();
  }
  // `user` asks for a chat, this user answers y, and the registry vouches for `key` with
  // `token`, having seen `user` at `address`.
  void expect_chat(const std::string& user, const std::string& token,
                   const proto::chat_public_key& key, const std::string& address = "10.0.0.9") {
    receive(proto::private_offer{proto::name_string(user)});
    type("y");
    receive(proto::private_expect_keyed{proto::name_string(user), proto::token_string(token),
                                        proto::address_string(address), key});
  }
  // The first frame of an incoming chat connection, presenting `key`.
  open_judgement open(const proto::chat_public_key& key,
                      std::uint16_t version = crypto::handshake_version) {
    return core.on_private_open(proto::p2p_open{version, key, {}}, now);
  }
  // The handshake of that connection succeeded, as the requester `user`.
  bool proven(std::string user, const proto::chat_public_key& key,
              std::string safety = "1111 2222 3333") {
    effects out;
    const bool opened = core.on_private_proven(user, key, safety, now, out);
    take(out);
    return opened;
  }
  void dialed(std::string user, bool opened, std::string safety = "4444 5555 6666") {
    effects out;
    core.on_private_dialed(user, opened, safety, out);
    take(out);
  }
  void chat_message(std::string user, const proto::p2p_message& message) {
    effects out;
    core.on_private_message(user, message, out);
    take(out);
  }
  void chat_closed(std::string user) {
    effects out;
    core.on_private_closed(user, out);
    take(out);
  }
  std::string last_prompt() const { return prompts.empty() ? "<none>" : prompts.back().text; }
};

inline proto::user_list names(std::vector<std::string> list, bool final_chunk = true,
                              proto::user_query query = proto::user_query::whoelse) {
  proto::user_list out;
  out.query = query;
  for (auto& name : list) out.names.items.emplace_back(name);
  out.final_chunk = final_chunk ? 1 : 0;
  return out;
}

using strings = std::vector<std::string>;
using msgs = std::vector<proto::client_message>;

}  // namespace parley::peer::testing

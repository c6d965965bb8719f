#include "tests/e2e/fake_registry_peer.hpp"

#include <utility>

namespace parley::e2e {

std::vector<std::string> with_no_tls(std::vector<std::string> args) {
  args.push_back("--no-tls");
  return args;
}

peer_behind_fake_registry::peer_behind_fake_registry(std::string_view user,
                                                     const std::vector<std::string>& peer_args,
                                                     call_site where)
    : name(user),
      peer(start_peer(fake.port(), home.path(), with_no_tls(peer_args))),
      registry(fake.accept(default_timeout, where)) {
  port = registry.welcome_peer(*peer, user, where);
}

void peer_behind_fake_registry::sync(call_site where) {
  const auto text = "sync " + std::to_string(++syncs);
  registry.send_to_peer(proto::delivery{{"r2d2"}, {text}, proto::delivery_kind::direct}, where);
  peer->expect_line("r2d2: " + text, default_timeout, where);
}

proto::chat_public_key peer_behind_fake_registry::consent(std::string_view requester,
                                                          call_site where) {
  registry.send_to_peer(proto::private_offer{{std::string(requester)}}, where);
  peer->expect(text::private_offer(requester), default_timeout, where);
  peer->send_line("y", where);
  const auto answer = registry.expect_from_peer<proto::private_consent>(default_timeout, where);
  if (answer.requester.value != requester)
    fail_at(where, "fake registry: the consent names " + answer.requester.value);
  return answer.chat_key;
}

void peer_behind_fake_registry::expect(std::string_view requester, std::string_view token,
                                       std::string_view address,
                                       const proto::chat_public_key& requester_key,
                                       call_site where) {
  registry.send_to_peer(
      proto::private_expect_keyed{
          {std::string(requester)}, {std::string(token)}, {std::string(address)}, requester_key},
      where);
  sync(where);
}

proto::chat_public_key peer_behind_fake_registry::invite(std::string_view target, call_site where) {
  peer->send_line("startprivate " + std::string(target), where);
  const auto invite = registry.expect_from_peer<proto::private_invite>(default_timeout, where);
  if (invite.to.value != target)
    fail_at(where, "fake registry: the invite names " + invite.to.value);
  registry.send_to_peer(
      proto::command_reply{proto::outcome::private_requested, {std::string(target)}}, where);
  return invite.chat_key;
}

void peer_behind_fake_registry::grant(std::string_view target, std::uint16_t target_port,
                                      std::string_view token,
                                      const proto::chat_public_key& target_key, call_site where) {
  registry.send_to_peer(
      proto::private_granted_keyed{
          {std::string(target)}, {"127.0.0.1"}, target_port, {std::string(token)}, target_key},
      where);
}

raw_chat peer_behind_fake_registry::open_chat(std::string_view user, std::string_view token,
                                              call_site where) {
  const auto target_key = consent(user, where);
  const auto keys = fresh_keys();
  expect(user, token, "127.0.0.1", keys.public_part(), where);
  auto link = std::make_unique<raw_client>(port, where);
  auto chat = handshake_as_requester(*link, keys, target_key,
                                     {std::string(user), name, std::string(token)});
  if (!chat) fail_at(where, "private chat: the handshake with " + name + " failed");
  peer->expect_line(text::private_start(user), default_timeout, where);
  return {std::move(link), std::move(*chat)};
}

std::size_t count_of(const child_process& peer, std::string_view text) {
  const auto all = peer.output().text();
  std::size_t count = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size()))
    ++count;
  return count;
}

}  // namespace parley::e2e

// A real peer logged in through a fake registry (a listener in the test), for the private-chat
// tests that must say what the registry says: grants and expectations with the test's own
// tokens and keys, or none at all. The fake registry speaks plain frames: its peers run with
// --no-tls.
#pragma once

#include "shared/proto/messages.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/sealed_p2p.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parley::e2e {

std::vector<std::string> with_no_tls(std::vector<std::string> args);

// The chat key pair a requester makes for each chat (crypto_kx), as the peer makes it.
inline crypto::chat_keypair fresh_keys() { return crypto::chat_keypair::generate(); }

// A chat the test opened to a real peer, as the requester.
struct raw_chat {
  std::unique_ptr<raw_client> link;
  sealed_session chat;
};

struct peer_behind_fake_registry {
  // `user` logged in, with `peer_args` after the port; its listener's port is known.
  explicit peer_behind_fake_registry(std::string_view user,
                                     const std::vector<std::string>& peer_args = {},
                                     call_site where = call_site::here());

  // Everything the fake registry sent before has been read by the peer: a delivery sent after
  // it on the same link has been shown.
  void sync(call_site where = call_site::here());

  // The fake registry asks for a chat from `requester`; the user answers y. Returns the chat
  // key of the peer's private_consent (the target key a requester's handshake needs).
  proto::chat_public_key consent(std::string_view requester, call_site where = call_site::here());
  // The fake registry tells the peer to expect `requester`, holding `requester_key`, from
  // `address`, and waits until the peer has read it.
  void expect(std::string_view requester, std::string_view token, std::string_view address,
              const proto::chat_public_key& requester_key, call_site where = call_site::here());

  // The user types `startprivate <target>`; the fake registry reads the private_invite and says
  // the request is on its way. Returns the invite's chat key.
  proto::chat_public_key invite(std::string_view target, call_site where = call_site::here());
  // The fake registry grants the invite: dial `target` at 127.0.0.1:`port` with `token`, and
  // expect `target_key` there.
  void grant(std::string_view target, std::uint16_t port, std::string_view token,
             const proto::chat_public_key& target_key, call_site where = call_site::here());

  // Opens a chat from `user` (consent, an expectation naming 127.0.0.1, the whole handshake
  // with a fresh key pair), as that user's peer would, and waits for the peer's start line.
  raw_chat open_chat(std::string_view user, std::string_view token,
                     call_site where = call_site::here());

  std::string name;
  temp_dir home;
  listener fake;
  peer_ptr peer;
  raw_client registry;
  std::uint16_t port = 0;
  int syncs = 0;
};

// How many times `text` appears in everything `peer` has shown.
std::size_t count_of(const child_process& peer, std::string_view text);

}  // namespace parley::e2e

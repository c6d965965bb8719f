// Private to the registry core: queuing frames for a session, and the replies that carry
// nothing but a code, encoded once and shared by every session.
#pragma once

#include "registry/core/reply_gate.hpp"

#include "registry/core/registry_core.hpp"
#include "shared/proto/frame.hpp"
#include "shared/proto/messages.hpp"

#include <array>
#include <cstddef>
#include <string_view>

namespace parley::registry {

// How many values a wire enum has (each ends with `last`).
template <class Enum>
constexpr std::size_t enum_count() {
  return static_cast<std::size_t>(Enum::last) + 1;
}

class replies {
 public:
  // Frames to a session the gate holds wait there (see reply_gate.hpp).
  explicit replies(reply_gate& gate);

  void send(effects& out, session_id to, proto::frame_ptr frame) const {
    if (gate_.holds(to)) return gate_.hold(to, std::move(frame));
    out.sends.push_back(effects::send{to, std::move(frame)});
  }
  void hello(effects& out, session_id to) const { send(out, to, hello_frame_); }
  void login(effects& out, session_id to, proto::login_result result) const {
    send(out, to, login_frames_[static_cast<std::size_t>(result)]);
  }
  void outcome(effects& out, session_id to, proto::outcome result) const {
    send(out, to, outcome_frame(result));
  }
  const proto::frame_ptr& outcome_frame(proto::outcome result) const {
    return outcome_frames_[static_cast<std::size_t>(result)];
  }
  // A reply naming its subject, encoded for this one reply.
  static proto::frame_ptr outcome_frame(proto::outcome result, std::string_view subject);
  // A reply naming its subject (a user) is encoded for this one reply.
  void outcome(effects& out, session_id to, proto::outcome result, std::string_view subject) const;
  void end(effects& out, session_id to, proto::end_reason reason) const {
    send(out, to, end_frames_[static_cast<std::size_t>(reason)]);
  }
  const proto::frame_ptr& end_frame(proto::end_reason reason) const {
    return end_frames_[static_cast<std::size_t>(reason)];
  }
  void resume(effects& out, session_id to, proto::resume_result result) const {
    send(out, to, resume_frame(result));
  }
  const proto::frame_ptr& resume_frame(proto::resume_result result) const {
    return resume_frames_[static_cast<std::size_t>(result)];
  }

 private:
  std::array<proto::frame_ptr, enum_count<proto::login_result>()> login_frames_;
  std::array<proto::frame_ptr, enum_count<proto::outcome>()> outcome_frames_;
  std::array<proto::frame_ptr, enum_count<proto::end_reason>()> end_frames_;
  std::array<proto::frame_ptr, enum_count<proto::resume_result>()> resume_frames_;
  proto::frame_ptr hello_frame_;
  reply_gate& gate_;
};

}  // namespace parley::registry

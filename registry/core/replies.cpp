#include "registry/core/replies.hpp"

#include "shared/proto/codec.hpp"

namespace parley::registry {

replies::replies(reply_gate& gate) : gate_(gate) {
  for (std::size_t i = 0; i < login_frames_.size(); ++i)
    login_frames_[i] = proto::make_frame(proto::login_reply{static_cast<proto::login_result>(i)});
  for (std::size_t i = 0; i < outcome_frames_.size(); ++i)
    outcome_frames_[i] =
        proto::make_frame(proto::command_reply{static_cast<proto::outcome>(i), {}});
  for (std::size_t i = 0; i < end_frames_.size(); ++i)
    end_frames_[i] = proto::make_frame(proto::session_end{static_cast<proto::end_reason>(i)});
  for (std::size_t i = 0; i < resume_frames_.size(); ++i)
    resume_frames_[i] =
        proto::make_frame(proto::resume_reply{static_cast<proto::resume_result>(i)});
  hello_frame_ = proto::make_frame(proto::server_hello{});
}

void replies::outcome(effects& out, session_id to, proto::outcome result,
                      std::string_view subject) const {
  send(out, to, outcome_frame(result, subject));
}

proto::frame_ptr replies::outcome_frame(proto::outcome result, std::string_view subject) {
  return proto::make_frame(proto::command_reply{result, subject});
}

}  // namespace parley::registry

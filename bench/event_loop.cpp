#include "bench/event_loop.hpp"

#include "bench/stream.hpp"

#include <asio/post.hpp>

#include <algorithm>

namespace parley::bench {

void event_loop::mark_dirty(stream* s) {
  dirty_.push_back(s);
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(io_, [this] { flush_dirty(); });
}

void event_loop::forget(stream* s) {
  std::erase(dirty_, s);
  std::replace(flushing_.begin(), flushing_.end(), s, static_cast<stream*>(nullptr));
}

void event_loop::flush_dirty() {
  flush_posted_ = false;
  flushing_.swap(dirty_);
  // Indexed: a flush that fails closes its stream, which may forget() a later entry.
  for (std::size_t i = 0; i < flushing_.size(); ++i)
    if (stream* s = flushing_[i]) s->flush();
  flushing_.clear();
}

}  // namespace parley::bench

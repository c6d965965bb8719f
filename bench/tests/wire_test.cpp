// The hand-written hot-path frames must be exactly what the codec writes and reads.
#include "bench/wire.hpp"
#include "shared/proto/codec.hpp"

#include <doctest/doctest.h>

using namespace parley;

namespace {
std::string_view body_of(const std::string& frame) {
  return std::string_view(frame).substr(proto::frame_header_bytes);
}
}  // namespace

TEST_CASE("wire: hot-path frames are byte for byte the codec's") {
  const std::string text(proto::max_text_bytes, 'x');
  std::string out;
  bench::wire::append_direct_message(out, "luke", "héllo ✓");
  CHECK(out ==
        proto::encode_frame(proto::client_message{proto::direct_message{"luke", "héllo ✓"}}));

  out.clear();
  bench::wire::append_broadcast_message(out, text);
  CHECK(out == proto::encode_frame(proto::client_message{proto::broadcast_message{text}}));

  out.clear();
  bench::wire::append_p2p_text(out, "hi");
  CHECK(out == proto::encode_frame(proto::p2p_message{proto::p2p_text{"hi"}}));

  // Appending keeps what is already in the buffer: frames are batched per connection.
  std::string batch;
  bench::wire::append_p2p_text(batch, "one");
  bench::wire::append_p2p_text(batch, "two");
  CHECK(batch == proto::encode_frame(proto::p2p_message{proto::p2p_text{"one"}}) +
                     proto::encode_frame(proto::p2p_message{proto::p2p_text{"two"}}));
}

TEST_CASE("wire: deliveries, replies and private texts are read in place") {
  const auto delivery = proto::encode_frame(proto::server_message{
      proto::delivery{"yoda", "do or do not", proto::delivery_kind::broadcast}});
  const auto d = bench::wire::peek_delivery(body_of(delivery));
  REQUIRE(d);
  CHECK(d->from == "yoda");
  CHECK(d->text == "do or do not");
  CHECK(d->kind == proto::delivery_kind::broadcast);
  CHECK(bench::wire::peek_tag(body_of(delivery)) == bench::wire::delivery_tag);

  const auto reply = proto::encode_frame(
      proto::server_message{proto::command_reply{proto::outcome::blocked, "vader"}});
  const auto r = bench::wire::peek_command_reply(body_of(reply));
  REQUIRE(r);
  CHECK(r->result == proto::outcome::blocked);
  CHECK(r->subject == "vader");

  const auto text = proto::encode_frame(proto::p2p_message{proto::p2p_text{"psst"}});
  CHECK(bench::wire::peek_p2p_text(body_of(text)) == std::string_view("psst"));
}

TEST_CASE("wire: anything else is left to the codec") {
  const auto delivery = proto::encode_frame(
      proto::server_message{proto::delivery{"yoda", "hi", proto::delivery_kind::direct}});
  const std::string body(body_of(delivery));
  // Another message, a truncated body, trailing bytes, a size tag past the bound.
  CHECK_FALSE(bench::wire::peek_command_reply(body));
  CHECK_FALSE(bench::wire::peek_delivery(body.substr(0, body.size() - 1)));
  CHECK_FALSE(bench::wire::peek_delivery(body + "x"));
  std::string huge = body;
  huge[5 + 7] = '\x7f';  // the top byte of the name's size tag
  CHECK_FALSE(bench::wire::peek_delivery(huge));
  // A big-endian body (flag 0) is valid, but only the codec reads it.
  std::string big_endian = body;
  big_endian[0] = '\0';
  CHECK_FALSE(bench::wire::peek_tag(big_endian));
  CHECK_FALSE(bench::wire::peek_tag(""));
}

// The budget of all outgoing queues on one io_context (SPEC 9.1), on real loopback sockets
// (127.0.0.1, ports chosen by the OS): who is dropped when a send would pass it, and that the
// count follows what the queues really hold.
#include "shared/net/framed_connection.hpp"

#include "shared/proto/frame.hpp"

#include <doctest/doctest.h>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace net = parley::net;
namespace proto = parley::proto;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

constexpr auto test_deadline = 5s;
constexpr auto run_slice = 5ms;
// Small kernel buffers, so that a reader that does not read is behind after little traffic.
constexpr int small_socket_buffer = 4096;
constexpr std::size_t body_bytes = 8000;

bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::steady_clock::duration limit = test_deadline) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(run_slice);
  }
  return true;
}

// Lets every write that can happen happen: the kernel's buffers fill, the rest waits.
void settle(asio::io_context& io) {
  run_until(
      io, [] { return false; }, 50ms);
}

proto::frame_ptr frame_of(std::string_view body) {
  std::string frame(proto::frame_header_bytes, '\0');
  proto::write_frame_length(frame.data(), static_cast<std::uint32_t>(body.size()));
  frame.append(body);
  return std::make_shared<const std::string>(std::move(frame));
}

// Connections on one io_context whose other ends never read.
struct readers {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  std::vector<std::unique_ptr<tcp::socket>> far_ends;
  std::vector<std::shared_ptr<net::framed_connection>> connections;
  std::vector<int> closes;
  std::vector<net::close_cause> causes;

  // A new connection under test, started; its index.
  std::size_t add(net::connection_limits limits = {}) {
    auto& far = *far_ends.emplace_back(std::make_unique<tcp::socket>(io));
    far.connect(acceptor.local_endpoint());
    tcp::socket near(io);
    acceptor.accept(near);
    near.set_option(tcp::socket::send_buffer_size(small_socket_buffer));
    far.set_option(tcp::socket::receive_buffer_size(small_socket_buffer));
    const std::size_t index = connections.size();
    connections.push_back(net::framed_connection::create(std::move(near), limits));
    closes.push_back(0);
    causes.push_back(net::close_cause::closed_locally);
    connections.back()->start([](std::string_view) {},
                              [this, index](net::close_cause cause, const std::string&) {
                                ++closes[index];
                                causes[index] = cause;
                              });
    return index;
  }

  net::framed_connection& operator[](std::size_t index) { return *connections[index]; }

  std::size_t sum_of_queues() const {
    std::size_t sum = 0;
    for (const auto& connection : connections) sum += connection->queued_bytes();
    return sum;
  }
};

void send_frames(net::framed_connection& connection, std::size_t count) {
  const auto frame = frame_of(std::string(body_bytes, 'q'));
  for (std::size_t i = 0; i < count; ++i) REQUIRE(connection.send(frame));
}

}  // namespace

TEST_CASE("queue budget: a send over it drops the reader holding the most, not the one sent to") {
  readers r;
  const auto behind = r.add();
  const auto further_behind = r.add();
  const auto sent_to = r.add();
  send_frames(r[behind], 20);
  send_frames(r[further_behind], 40);
  settle(r.io);
  // Both are behind, by different amounts; the third holds nothing.
  REQUIRE(r[behind].queued_bytes() > 0);
  REQUIRE(r[further_behind].queued_bytes() > r[behind].queued_bytes());
  CHECK(r[sent_to].queued_bytes() == 0);
  CHECK(net::total_queued_bytes(r.io) == r.sum_of_queues());

  // Room for a little more than is queued: the next frame passes the budget.
  net::set_total_queue_budget(r.io, net::total_queued_bytes(r.io) + 1000);
  CHECK(r[sent_to].send(frame_of(std::string(2000, 'n'))));
  CHECK(r[sent_to].is_open());
  CHECK_FALSE(r[further_behind].is_open());
  // Dropping the largest made room enough: the one behind less stays.
  CHECK(r[behind].is_open());
  CHECK(net::total_queued_bytes(r.io) == r.sum_of_queues());
  REQUIRE(run_until(r.io, [&] { return r.closes[further_behind] == 1; }));
  CHECK(r.causes[further_behind] == net::close_cause::queue_budget);
  CHECK(r.closes[behind] == 0);
  CHECK(r.closes[sent_to] == 0);

  // What is closed gives its bytes back: nothing stays counted.
  for (auto& connection : r.connections) connection->close();
  REQUIRE(run_until(r.io, [&] { return r.closes[behind] == 1 && r.closes[sent_to] == 1; }));
  CHECK(net::total_queued_bytes(r.io) == 0);
}

TEST_CASE("queue budget: the connection sent to is dropped when it is the slowest reader") {
  readers r;
  const auto behind = r.add();
  const auto further_behind = r.add();
  send_frames(r[behind], 10);
  send_frames(r[further_behind], 30);
  settle(r.io);
  REQUIRE(r[further_behind].queued_bytes() > r[behind].queued_bytes());
  net::set_total_queue_budget(r.io, net::total_queued_bytes(r.io) + 1000);

  CHECK_FALSE(r[further_behind].send(frame_of(std::string(2000, 'n'))));
  CHECK(r[behind].is_open());
  REQUIRE(run_until(r.io, [&] { return r.closes[further_behind] == 1; }));
  CHECK(r.causes[further_behind] == net::close_cause::queue_budget);
  CHECK(net::total_queued_bytes(r.io) == r[behind].queued_bytes());
}

TEST_CASE("queue budget: under it nobody is dropped, however far behind") {
  readers r;
  net::set_total_queue_budget(r.io, 4 * 1024 * 1024);
  const auto behind = r.add();
  const auto further_behind = r.add();
  send_frames(r[behind], 50);
  send_frames(r[further_behind], 100);
  settle(r.io);
  CHECK(r[behind].is_open());
  CHECK(r[further_behind].is_open());
  CHECK(net::total_queued_bytes(r.io) == r.sum_of_queues());
  CHECK(net::total_queued_bytes(r.io) > 0);
}

TEST_CASE("queue budget: a frame queued by several connections counts once per queue") {
  readers r;
  const auto first = r.add();
  const auto second = r.add();
  const auto shared = frame_of("the same frame, encoded once");
  CHECK(r[first].send(shared));
  CHECK(r[second].send(shared));
  CHECK(net::total_queued_bytes(r.io) == 2 * (shared->size() + net::queued_frame_overhead));
  // Small enough for the kernel: written at once, and counted no more.
  REQUIRE(run_until(r.io, [&] { return net::total_queued_bytes(r.io) == 0; }));
  CHECK(r[first].queued_bytes() == 0);
  CHECK(r[second].queued_bytes() == 0);
}

TEST_CASE(
    "queue budget: one turn's sends may pass it while nobody is behind, then the slowest is "
    "dropped once the kernel has refused its bytes") {
  readers r;
  const auto quiet = r.add();
  const auto flooded = r.add();
  net::set_total_queue_budget(r.io, 128 * 1024);
  // Nothing has been offered to the kernel yet, so no reader is behind: no one to drop.
  send_frames(r[flooded], 40);
  CHECK(r[flooded].is_open());
  CHECK(net::total_queued_bytes(r.io) > 128 * 1024);
  // The write that ends this turn leaves most of it with the connection: now it is the slowest.
  REQUIRE(run_until(r.io, [&] { return r.closes[flooded] == 1; }));
  CHECK(r.causes[flooded] == net::close_cause::queue_budget);
  CHECK(r[quiet].is_open());
  CHECK(net::total_queued_bytes(r.io) == 0);
}

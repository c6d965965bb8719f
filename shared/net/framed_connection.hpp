// One framed TCP connection, used by the registry's sessions and by the peer (registry link and
// private chats). It is a small reactor rather than a pair of coroutines, because the registry
// holds thousands of idle connections and each must cost as little memory as possible:
// - reading waits for readiness (no buffer while waiting), then reads whatever has arrived into
//   one scratch buffer per thread and hands every complete frame over from there; only the bytes
//   of a frame that straddles two reads are copied into the connection, and released once whole;
// - writing: a frame sent while the connection has nothing waiting for the kernel goes into its
//   io_context's outbox, which every connection shares. After the handler that queued them has
//   returned, one posted handler writes each connection's frames out in one gathered,
//   non-blocking write. Only what the kernel does not take (its buffer is full) moves into the
//   connection's own queue, which then waits for writability. An idle connection therefore holds
//   no write buffer, and a burst of notices to every connection (presence, broadcast) costs one
//   posted handler and one write per connection, with no per-connection allocation.
// - memory: each connection's queue (outbox and spill together) has a bound of its own, and
//   set_total_queue_budget() bounds their sum over the io_context; over it the slowest readers
//   are dropped (queue_budget.hpp says who that is, and how frames are counted).
// - TLS (the registry link, SPEC 10): an SSL* on the same non-blocking descriptor, driven from
//   the same readiness handlers, instead of an asio::ssl::stream (whose buffers cost 68 KiB per
//   idle connection, docs/design/issue-11.md 1.5). A turn's frames are sealed into as few
//   records as fit (16 KiB each), never one record per frame. Frames sent before the handshake
//   is done wait in the connection's queue for it.
// The owner is told once, through on_close, after both directions have stopped.
//
// Everything here runs on one io thread: no member is touched from any other thread.
#pragma once

#include "shared/proto/frame.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace parley::net {

// What one queued frame costs beyond its own bytes, about: its place in the outbox or the spilled
// queue (16 to 32 bytes), the shared frame's control block and string object (64 with the
// allocator's header) and its buffer's allocator header (16). Counted with every frame, so that
// the byte bounds bound memory even for a queue of tiny frames; a separate bound on the number of
// frames is then not needed.
inline constexpr std::size_t queued_frame_overhead = 96;

struct connection_limits {
  std::size_t max_frame_body = 64 * 1024;
  // Outgoing queue bound, in frame bytes plus queued_frame_overhead per frame: a peer that reads
  // slower than it is sent to is dropped, not buffered. The peer keeps this default; the registry
  // sets its own (--max-session-queue).
  std::size_t max_queued_bytes = 8 * 1024 * 1024;
  // How long a graceful close may take: flushing the queue, then waiting for the other side to
  // close its end.
  std::chrono::milliseconds linger{2000};
};

enum class close_cause {
  eof,              // the other side closed
  read_error,       // reset, or another socket error while reading
  write_error,      // the socket failed while writing
  frame_too_large,  // a length header over max_frame_body
  queue_overflow,   // the outgoing queue passed its bound
  closed_locally,   // close() or a finished close_after_flush()
  queue_budget,     // the sum of all outgoing queues passed its budget, and this was the slowest
  tls_failed,    // the TLS handshake failed (the other side's key, a protocol error), or a record
  tls_mismatch,  // one side speaks TLS and the other does not (the first byte told)
};

const char* describe(close_cause cause);

class outbox_service;
class queue_budget;
class tls_context;
class tls_session;

// What a server connection does with its client's first byte (accept_tls): a TLS handshake
// record begins with 0x16, a Parley frame with 0x00 (a length under 16 MiB). Kept by the server,
// shared by all its connections.
struct tls_acceptor {
  // TLS offered: clients that begin a handshake get a TLS session; plain ones are sent
  // `refuse_plain` and closed. Null (the server runs without TLS): plain clients are served, and
  // clients that begin a handshake are sent `refuse_tls` and closed.
  const tls_context* context = nullptr;
  proto::frame_ptr refuse_plain;
  proto::frame_ptr refuse_tls;
};

// The budget for the sum of the outgoing queues of every connection on `io` (counted as
// connection_limits.max_queued_bytes counts them, per queue that holds a frame). A send that
// would pass it first drops the slowest readers (close_cause::queue_budget). 0, the default: no
// budget. Set it before connections send.
void set_total_queue_budget(asio::io_context& io, std::size_t bytes);
// What the outgoing queues of every connection on `io` hold now, as the budget counts it.
std::size_t total_queued_bytes(asio::io_context& io);

class framed_connection : public std::enable_shared_from_this<framed_connection> {
 public:
  // The socket type the connection keeps: bound to an io_context's own executor, which is one
  // pointer, where asio::ip::tcp::socket carries a polymorphic executor (56 bytes), and so does
  // every operation waiting on it.
  using socket_type = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;

  // Called for each received frame body, in order; the view is valid only during the call.
  using frame_handler = std::function<void(std::string_view body)>;
  // Called exactly once, after the connection has ended for whatever reason; never from inside
  // send() or close().
  using close_handler = std::function<void(close_cause cause, const std::string& detail)>;

  // Who is told about frames and the end, with the `tag` given to start(): the registry has one
  // owner for all its sessions, so a connection holds a pointer and a number instead of two
  // std::function objects. The owner must outlive the connection's io_context run.
  class owner {
   public:
    virtual void on_frame(std::uint64_t tag, std::string_view body) = 0;
    virtual void on_close(std::uint64_t tag, close_cause cause, const std::string& detail) = 0;

   protected:
    ~owner() = default;
  };

  static std::shared_ptr<framed_connection> create(socket_type socket,
                                                   connection_limits limits = {});
  // A socket on any executor of an io_context (the peer's): moved onto that io_context's own
  // executor first.
  static std::shared_ptr<framed_connection> create(asio::ip::tcp::socket socket,
                                                   connection_limits limits = {});

  // Before start(), on a server's accepted connection: the first byte decides between TLS and
  // plain as `acceptor` says (it must outlive the connection). One peek per connection; a client
  // that sends nothing costs what a plain one does.
  void accept_tls(const tls_acceptor& acceptor);
  // Before start(), on a client's connection: a TLS handshake on `context` (whose certificate
  // check decides whom to trust). Frames sent before it is done wait for it, so nothing leaves
  // unless the server passed the check. A server that answers with anything but TLS ends the
  // connection at once (close_cause::tls_mismatch).
  void connect_tls(const tls_context& context);

  void start(owner& to, std::uint64_t tag);
  void start(frame_handler on_frame, close_handler on_close);

  // Queues one complete frame (header + body). Returns false, and drops the connection, when the
  // queue would pass its bound, or when the total would pass its budget and this connection is
  // the slowest reader (others may be dropped instead: see set_total_queue_budget); returns false
  // too once the connection is closing.
  bool send(proto::frame_ptr frame);
  bool send(std::string frame);

  // Sends everything queued, half-closes, waits for the other side's EOF, closes. All of it
  // within limits.linger: a peer that stops reading is then dropped (write_error). Frames that
  // arrive meanwhile are discarded.
  void close_after_flush();

  // Closes now; whatever is queued is dropped.
  void close(close_cause cause = close_cause::closed_locally, std::string detail = {});

  // Stops handing frames over after the current one, until resume_reading(): the registry pauses
  // a session whose commands wait for the store (SPEC 9.1). Frames read already wait in the
  // connection; nothing more is read from the socket meanwhile, so TCP's own flow control
  // slows the client down.
  void pause_reading();
  void resume_reading();

  // Changes the bound of the frames still to come (the registry's is small until login, SPEC
  // 9.1). A frame whose header has been read already keeps the bound it was checked against.
  void set_max_frame_body(std::size_t bytes);

  bool is_open() const { return state_ == lifecycle::open; }
  // The connection is (or is becoming) TLS; its session, for the other side's key.
  bool is_tls() const { return tls_ != nullptr; }
  const tls_session* tls() const { return tls_.get(); }
  // What this connection's outgoing queue holds, as its bound counts it.
  std::size_t queued_bytes() const { return queued_bytes_; }
  const asio::ip::tcp::endpoint& remote_endpoint() const { return remote_; }
  socket_type& socket() { return socket_; }

  framed_connection(socket_type socket, connection_limits limits);
  ~framed_connection();

 private:
  friend class outbox_service;
  friend class queue_budget;

  // A connection's life, in order; it only ever moves forward.
  enum class lifecycle : std::uint8_t {
    open,         // reading and sending
    draining,     // close_after_flush(): sending what is queued, frames received are dropped
    half_closed,  // everything is sent and our side is shut down: waiting for the other's EOF
    closed,       // the socket is closed: waiting for the outstanding operations to return
    finished,     // the owner has been told (on_close)
  };
  // The socket is still open (whether or not a graceful close has begun).
  bool alive() const { return state_ < lifecycle::closed; }

  // What carries the frames; it only ever moves forward too, and is ready at `plain` or `tls`.
  enum class transport : std::uint8_t {
    plain,
    detect,         // a server's: the client's first byte will tell (accept_tls)
    tls_first,      // a client's: the handshake has begun, the server's first byte is still due
    tls_handshake,  // the handshake is under way: frames sent wait in the queue
    tls,
  };
  bool transport_ready() const {
    return transport_ == transport::plain || transport_ == transport::tls;
  }

  // The limits, in the fewest bytes: every connection keeps a copy.
  struct packed_limits {
    std::uint32_t max_frame_body;
    std::uint32_t max_queued_bytes;
    std::uint32_t linger_ms;
  };
  // What only a connection that is ending needs; allocated then.
  struct ending {
    std::string detail;
    std::unique_ptr<asio::steady_timer> linger_timer;
  };
  class function_owner;
  // What a connection holds only while data waits on one side or the other.
  struct spill {
    // The start of a frame whose end has not arrived yet.
    std::string partial;
    // Bytes read but not handed over yet (the turn's frame budget was spent, or reading is
    // paused): whole frames, maybe followed by the start of one. Never at once with `partial`.
    std::string backlog;
    // Frames the kernel has not taken yet, [head, end).
    std::vector<proto::frame_ptr> queue;
    std::uint32_t head = 0;
    std::uint32_t head_written = 0;  // bytes of queue[head] already written
    // While the queue waits for writability: its place in the queue_budget's list, and when
    // (in the budget's count of waits) it began to wait.
    std::uint32_t waiting_index = std::numeric_limits<std::uint32_t>::max();
    std::uint64_t waiting_since = 0;
  };
  spill& spilled();
  void release_spill_if_empty();

  void start_read();
  void on_readable(std::error_code ec);
  // One read into `chunk`: the bytes read, or 0 with the connection closed or a wait begun.
  std::size_t read_chunk(char* chunk, bool& waiting);
  // A server's first byte (transport::detect), then a TLS handshake step; both wait as needed.
  void detect_transport();
  void continue_handshake();
  void wait_for_handshake(bool readable);
  // Frames move from the outbox chain starting at `at` into the spilled queue.
  void spill_chain(std::uint32_t at);
  // flush_outbox's TLS half; flush_queue_tls writes what waits in the spilled queue.
  void flush_outbox_tls(std::uint32_t at);
  void flush_queue_tls();
  // The spilled queue is all written: released, and a graceful close goes on.
  void done_flushing_queue();
  // The frames of this turn are spent: the backlog waits for the next turn, or for a resume.
  void yield();
  // Hands every complete frame in `input` over, keeps the rest; false once the connection has
  // closed (a frame over its bound, or the frame handler closed it).
  bool consume(std::string_view input);
  // The whole size (header + body) of the frame whose header starts at `header`, or 0 after
  // closing the connection when the header announces more than max_frame_body.
  std::size_t checked_frame_bytes(const char* header);
  void deliver(std::string_view body);
  // Makes sure a write happens after the current handler (through the outbox), unless one is
  // already due or the connection waits for writability.
  void want_flush();
  // Called by the outbox after the handlers that queued frames: writes this connection's chain
  // of frames, detached from it and starting at entry `at` of the outbox being written.
  void flush_outbox(std::uint32_t at);
  // Writes from the spilled queue (after the kernel's buffer was full).
  void flush_queue();
  void wait_writable();
  // Drops the `written` bytes that have left from the front of the spilled queue.
  void advance(std::size_t written);
  // A frame of `frame_bytes` has left the queue: counted off this connection and the budget.
  void uncount(std::size_t frame_bytes);
  void after_flush();
  void finish_if_done();
  void finish();
  void note(close_cause cause, std::string detail);
  ending& ending_state();

  socket_type socket_;
  packed_limits limits_;
  asio::ip::tcp::endpoint remote_;
  outbox_service* outbox_;
  owner* owner_ = nullptr;
  std::uint64_t tag_ = 0;
  // The owner made by start(frame_handler, close_handler); empty for start(owner&, tag).
  std::unique_ptr<function_owner> functions_;
  std::unique_ptr<ending> ending_;
  // Allocated only while a frame straddles two reads or the kernel's buffer is full, and
  // released once neither holds anything: an idle connection keeps neither buffer.
  std::unique_ptr<spill> spill_;
  // TLS only: the session, and until the first byte has come the server's rules.
  std::unique_ptr<tls_session> tls_;
  const tls_acceptor* acceptor_ = nullptr;
  // This connection's frames in the outbox: the chain's first and last entries.
  std::uint32_t out_first_;
  std::uint32_t out_last_;
  // Bytes queued (with queued_frame_overhead per frame), in the outbox and the spilled queue
  // together: what the bound and the budget limit. Zero exactly when no frame is queued.
  std::uint32_t queued_bytes_ = 0;
  close_cause cause_ = close_cause::closed_locally;
  bool cause_set_ = false;
  lifecycle state_ = lifecycle::open;
  transport transport_ = transport::plain;
  // The operations still outstanding: the connection finishes once none is.
  bool read_pending_ = false;  // a readiness wait or a posted read is outstanding
  bool paused_ = false;        // pause_reading(): frames stay in the backlog
  std::uint8_t frames_this_turn_ = 0;
  bool in_outbox_ = false;         // listed in the outbox for its next write
  bool writing_chain_ = false;     // the outbox is writing, and this connection's turn is to come
  bool waiting_writable_ = false;  // the kernel's buffer was full: the queue waits for room
};

}  // namespace parley::net

// TLS 1.3 for the registry link (SPEC 10), for framed_connection to drive (docs/design/issue-11.md,
// 1.1): a context per program (its SSL_CTX, from asio::ssl::context) and a session per
// connection, an SSL* on the connection's own non-blocking socket. No asio::ssl::stream: its
// buffers cost 68 KiB per idle connection where an SSL* with SSL_MODE_RELEASE_BUFFERS costs 13.6.
// Every step says what it needs next (read, write) instead of blocking or taking buffers of its
// own, so the reactor keeps its shape.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

struct evp_pkey_st;
struct ssl_ctx_st;
struct bio_st;
struct ssl_st;

namespace parley::net {

enum class tls_role { server, client };

// What a peer pins: "SHA256:" and the unpadded base64 of the SHA-256 of the key's DER
// SubjectPublicKeyInfo (OpenSSH's form); empty if OpenSSL cannot encode the key.
std::string public_key_fingerprint(evp_pkey_st* key);

// Both ends: TLS 1.3 only, no session tickets or cache (the registry resumes at the application
// level, SPEC 11), release idle buffers, read ahead, AES-128-GCM first, ALPN "parley".
class tls_context {
 public:
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  // The registry's: its certificate and key (PEM files). Nothing, with `error`, when they do not
  // load or do not match.
  static std::unique_ptr<tls_context> server(const std::string& certificate_pem_file,
                                             const std::string& key_pem_file, std::string& error);
  // A client that accepts any certificate (the benchmark's, and tests').
  static std::unique_ptr<tls_context> client(std::string& error);
  // The peer's, pinning (SPEC 10): during the handshake, before any byte of ours leaves, `check`
  // is given the fingerprint of the server's key (public_key_fingerprint); false fails the
  // handshake (close_cause::tls_failed). Names and dates are not looked at: the key is the pin.
  using pin_check = std::function<bool(const std::string& fingerprint)>;
  static std::unique_ptr<tls_context> client_pinned(pin_check check, std::string& error);
  // The peer's with --ca: OpenSSL's chain check against the certificates in `ca_file`, and the
  // certificate's names against `host` (a DNS name, or an IP address).
  static std::unique_ptr<tls_context> client_ca(const std::string& ca_file, const std::string& host,
                                                std::string& error);

  ssl_ctx_st* native() const;
  tls_role role() const { return role_; }

 private:
  friend class tls_session;
  struct holder;
  tls_context(std::unique_ptr<holder> holder, tls_role role);
  std::unique_ptr<holder> holder_;
  tls_role role_;
};

class tls_session {
 public:
  enum class status {
    done,        // `bytes` moved (read, written), or the handshake or shutdown is complete
    want_read,   // call again once the socket is readable
    want_write,  // call again once it is writable (a write: with the same bytes)
    eof,         // the other side closed the TLS session cleanly (close_notify)
    failed,      // anything else: `reason` says what; the session is unusable
  };
  struct result {
    status what = status::failed;
    std::size_t bytes = 0;
    std::string reason;
    // failed: what arrived was not a TLS record (OpenSSL's "wrong version number").
    bool not_tls = false;
  };

  // `fd`: a connected, non-blocking socket, still owned by the caller (never closed here).
  tls_session(const tls_context& context, int fd);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  result handshake();
  bool handshake_done() const;
  result read(void* buffer, std::size_t size);
  // All of `size` or nothing: on want_write, call again with the same bytes.
  result write(const void* data, std::size_t size);
  // Sends close_notify (once); done when sent.
  result shutdown();
  // Bytes OpenSSL already holds decrypted or read ahead: read them before waiting for the socket.
  bool has_pending() const;
  // Everything the kernel had is read: OpenSSL holds nothing more, and its last read from the
  // socket got less than it asked for. Then a wait for readability follows, not one more read
  // to see it fail with EAGAIN (under TLS every turn of a busy connection paid one more system
  // call that way than plain).
  bool drained() const;
  // After the handshake: "SHA256:<base64>" of the other side's certificate's public key (the
  // form registry/tls/identity pins), empty if it sent none.
  std::string peer_fingerprint() const;
  std::string protocol() const;  // "TLSv1.3", after the handshake
  // Why the other side's certificate was refused (OpenSSL's words), or empty.
  std::string verify_error() const;

 private:
  result step(int rc, std::size_t bytes);
  static long on_socket_io(bio_st* bio, int operation, const char* argument, std::size_t size, int,
                           long, int rc, std::size_t* processed);
  ssl_st* ssl_;
  // What the last read from the socket found: less than asked for, or nothing (EAGAIN, EOF).
  bool last_read_short_ = false;
};

}  // namespace parley::net

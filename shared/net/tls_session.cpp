#include "shared/net/tls_session.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <asio/ssl/context.hpp>

#include <cerrno>
#include <cstring>

namespace parley::net {
namespace {

// ALPN: a TLS server that is not a Parley registry fails the handshake (no_application_protocol)
// instead of taking our frames as its protocol's.
constexpr unsigned char alpn_wire[] = {6, 'p', 'a', 'r', 'l', 'e', 'y'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                unsigned int in_size, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_size, alpn_wire, sizeof alpn_wire, in, in_size) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// OpenSSL's queued errors, as one line.
std::string openssl_errors(const char* fallback) {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char line[256];
    ERR_error_string_n(code, line, sizeof line);
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text.empty() ? fallback : text;
}

bool configure(SSL_CTX* ctx, std::string& error) {
  const bool ok =
      SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
      SSL_CTX_set_ciphersuites(
          ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384") == 1 &&
      SSL_CTX_set1_groups_list(ctx, "X25519:P-256") == 1;
  if (!ok) {
    error = "cannot configure TLS: " + openssl_errors("OpenSSL refused a setting");
    return false;
  }
  // A retried write may come from another address (the per-thread seal buffer) with the same
  // bytes.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return true;
}

}  // namespace

std::string public_key_fingerprint(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int size = key ? i2d_PUBKEY(key, &der) : -1;
  if (size <= 0) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  const bool ok = EVP_Digest(der, static_cast<std::size_t>(size), digest, &digest_size,
                             EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return {};
  unsigned char base64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int written = EVP_EncodeBlock(base64, digest, static_cast<int>(digest_size));
  std::string text(reinterpret_cast<const char*>(base64), static_cast<std::size_t>(written));
  while (!text.empty() && text.back() == '=') text.pop_back();
  return "SHA256:" + text;
}

struct tls_context::holder {
  explicit holder(asio::ssl::context::method method) : context(method) {}
  asio::ssl::context context;
  pin_check check;
  // client_ca's host, when it is a DNS name: sent as SNI.
  std::string server_name;
};

namespace {

// The pinning client's certificate check: the leaf's key against the pin, nothing else.
int check_pin(X509_STORE_CTX* store, void* arg) {
  const auto& check = *static_cast<const tls_context::pin_check*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  const auto fingerprint = leaf ? public_key_fingerprint(X509_get0_pubkey(leaf)) : std::string();
  if (!fingerprint.empty() && check(fingerprint)) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

}  // namespace

tls_context::tls_context(std::unique_ptr<holder> holder, tls_role role)
    : holder_(std::move(holder)), role_(role) {}
tls_context::~tls_context() = default;

SSL_CTX* tls_context::native() const { return holder_->context.native_handle(); }

std::unique_ptr<tls_context> tls_context::server(const std::string& certificate_pem_file,
                                                 const std::string& key_pem_file,
                                                 std::string& error) {
  auto h = std::make_unique<holder>(asio::ssl::context::tlsv13_server);
  SSL_CTX* ctx = h->context.native_handle();
  if (!configure(ctx, error)) return nullptr;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, certificate_pem_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_pem_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    error = "cannot use the TLS certificate \"" + certificate_pem_file + "\" and key \"" +
            key_pem_file + "\": " + openssl_errors("OpenSSL refused them");
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  return std::unique_ptr<tls_context>(new tls_context(std::move(h), tls_role::server));
}

std::unique_ptr<tls_context> tls_context::client(std::string& error) {
  auto h = std::make_unique<holder>(asio::ssl::context::tlsv13_client);
  SSL_CTX* ctx = h->context.native_handle();
  if (!configure(ctx, error)) return nullptr;
  // A registry's certificate chain is small; a server sending more is not one.
  SSL_CTX_set_max_cert_list(ctx, 16 * 1024);
  // The key is checked by the caller (pin or CA) after the handshake and before any byte of
  // ours goes out: the handshake itself accepts the self-signed certificate.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof alpn_wire) != 0) {
    error = "cannot configure TLS: " + openssl_errors("ALPN refused");
    return nullptr;
  }
  return std::unique_ptr<tls_context>(new tls_context(std::move(h), tls_role::client));
}

std::unique_ptr<tls_context> tls_context::client_pinned(pin_check check, std::string& error) {
  auto context = client(error);
  if (!context) return nullptr;
  auto& h = *context->holder_;
  h.check = std::move(check);
  SSL_CTX_set_verify(h.context.native_handle(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(h.context.native_handle(), check_pin, &h.check);
  return context;
}

std::unique_ptr<tls_context> tls_context::client_ca(const std::string& ca_file,
                                                    const std::string& host, std::string& error) {
  auto context = client(error);
  if (!context) return nullptr;
  auto& h = *context->holder_;
  SSL_CTX* ctx = h.context.native_handle();
  ERR_clear_error();
  if (SSL_CTX_load_verify_file(ctx, ca_file.c_str()) != 1) {
    error = "cannot load the CA certificates \"" + ca_file +
            "\": " + openssl_errors("OpenSSL refused them");
    return nullptr;
  }
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  // An IP address is matched against the certificate's IP names, anything else as a DNS name.
  if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
    if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) {
      error = "cannot check the registry's certificate against \"" + host + "\"";
      return nullptr;
    }
    h.server_name = host;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return context;
}

std::string tls_session::verify_error() const {
  if (!ssl_) return {};
  const long result = SSL_get_verify_result(ssl_);
  return result == X509_V_OK ? std::string() : X509_verify_cert_error_string(result);
}

tls_session::tls_session(const tls_context& context, int fd) : ssl_(SSL_new(context.native())) {
  if (!ssl_) return;
  // A socket BIO that leaves the descriptor to its owner.
  BIO* bio = BIO_new_socket(fd, BIO_NOCLOSE);
  if (!bio) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_callback_arg(bio, reinterpret_cast<char*>(this));
  BIO_set_callback_ex(bio, &tls_session::on_socket_io);
  SSL_set_bio(ssl_, bio, bio);
  if (context.role() == tls_role::server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    const auto& name = context.holder_->server_name;
    if (!name.empty()) SSL_set_tlsext_host_name(ssl_, name.c_str());
  }
}

tls_session::~tls_session() { SSL_free(ssl_); }

long tls_session::on_socket_io(BIO* bio, int operation, const char*, std::size_t size, int, long,
                               int rc, std::size_t* processed) {
  if (operation == (BIO_CB_READ | BIO_CB_RETURN)) {
    auto* self = reinterpret_cast<tls_session*>(BIO_get_callback_arg(bio));
    self->last_read_short_ = rc <= 0 || processed == nullptr || *processed < size;
  }
  return rc;
}

tls_session::result tls_session::step(int rc, std::size_t bytes) {
  if (rc > 0) return {status::done, bytes, {}};
  const int error = SSL_get_error(ssl_, rc);
  switch (error) {
    case SSL_ERROR_WANT_READ: return {status::want_read, 0, {}};
    case SSL_ERROR_WANT_WRITE: return {status::want_write, 0, {}};
    case SSL_ERROR_ZERO_RETURN: return {status::eof, 0, {}};
    case SSL_ERROR_SYSCALL: {
      const int saved = errno;
      std::string why = openssl_errors("");
      if (why.empty())
        why = saved != 0 ? std::strerror(saved) : "the connection closed without close_notify";
      return {status::failed, 0, why};
    }
    default: {
      // A record that is no TLS record at all: the other side speaks something else.
      const unsigned long code = ERR_peek_error();
      const bool not_tls =
          ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_WRONG_VERSION_NUMBER;
      result failed{status::failed, 0, openssl_errors("TLS failed")};
      failed.not_tls = not_tls;
      return failed;
    }
  }
}

tls_session::result tls_session::handshake() {
  if (!ssl_) return {status::failed, 0, "no TLS session (OpenSSL could not make one)"};
  ERR_clear_error();
  return step(SSL_do_handshake(ssl_), 0);
}

bool tls_session::handshake_done() const { return ssl_ && SSL_is_init_finished(ssl_) == 1; }

tls_session::result tls_session::read(void* buffer, std::size_t size) {
  if (!ssl_) return {status::failed, 0, "no TLS session"};
  ERR_clear_error();
  std::size_t got = 0;
  const int rc = SSL_read_ex(ssl_, buffer, size, &got);
  return step(rc, got);
}

tls_session::result tls_session::write(const void* data, std::size_t size) {
  if (!ssl_) return {status::failed, 0, "no TLS session"};
  ERR_clear_error();
  std::size_t written = 0;
  const int rc = SSL_write_ex(ssl_, data, size, &written);
  return step(rc, written);
}

tls_session::result tls_session::shutdown() {
  if (!ssl_) return {status::failed, 0, "no TLS session"};
  ERR_clear_error();
  const int rc = SSL_shutdown(ssl_);
  // 0: our close_notify is sent (the other's not yet seen), which is all a close needs.
  if (rc >= 0) return {status::done, 0, {}};
  return step(rc, 0);
}

bool tls_session::has_pending() const { return ssl_ && SSL_has_pending(ssl_) == 1; }

bool tls_session::drained() const { return last_read_short_ && !has_pending(); }

std::string tls_session::peer_fingerprint() const {
  if (!ssl_) return {};
  X509* certificate = SSL_get0_peer_certificate(ssl_);
  return certificate ? public_key_fingerprint(X509_get0_pubkey(certificate)) : std::string();
}

std::string tls_session::protocol() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

}  // namespace parley::net

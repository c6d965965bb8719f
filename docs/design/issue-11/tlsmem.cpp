// Idle memory of N loopback TLS 1.3 connections on the server side, per way of holding them.
// usage: tlsmem MODE N [KEY]
//   MODE: plain | raw | raw-norelease | asio | asio-norelease
//   KEY:  ed25519 (default) | p256
// The server (this process) makes its key and a self-signed certificate with the EVP API, forks
// a client that opens N connections one after the other (handshake, 64 bytes each way, then
// idle), and reports its own RSS and malloc'd bytes before and after, and the CPU time it spent
// per handshake.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <asio.hpp>
#include <asio/ssl.hpp>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

double heap_kib() { return static_cast<double>(mallinfo2().uordblks) / 1024.0; }

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

double user_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec) + u.ru_utime.tv_usec / 1e6;
}
double user_spent = 0;

void die(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

EVP_PKEY* make_key(const std::string& type) {
  EVP_PKEY* key = type == "p256" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key) die("keygen");
  return key;
}

X509* make_certificate(EVP_PKEY* key, bool ed25519) {
  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;  // a positive serial
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 60L * 60 * 24 * 3650);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("parley-registry"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  for (const char* ext : {"basicConstraints=critical,CA:FALSE", "subjectAltName=IP:127.0.0.1"}) {
    const std::string text(ext);
    const auto eq = text.find('=');
    X509_EXTENSION* e =
        X509V3_EXT_conf(nullptr, &v3, text.substr(0, eq).c_str(), text.substr(eq + 1).c_str());
    if (!e) die("extension");
    X509_add_ext(cert, e, -1);
    X509_EXTENSION_free(e);
  }
  // Ed25519 signs the message itself: no digest may be named.
  if (!X509_sign(cert, key, ed25519 ? nullptr : EVP_sha256())) die("sign");
  return cert;
}

std::string spki_fingerprint(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  EVP_Digest(der, static_cast<size_t>(len), md, &mdlen, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, md, static_cast<int>(mdlen));
  std::string text(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  while (!text.empty() && text.back() == '=') text.pop_back();
  return "SHA256:" + text;
}

void run_client(unsigned short port, int n) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  std::vector<SSL*> held;
  std::vector<int> plain;
  const bool tls = std::getenv("TLSMEM_PLAIN") == nullptr;
  for (int i = 0; i < n; ++i) {
    asio::io_context io;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    char buf[64];
    std::memset(buf, 'x', sizeof buf);
    if (tls) {
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) != 1) die("SSL_connect");
      if (SSL_write(ssl, buf, sizeof buf) != sizeof buf) die("client write");
      int got = 0;
      while (got < 64) {
        const int r = SSL_read(ssl, buf + got, 64 - got);
        if (r <= 0) die("client read");
        got += r;
      }
      held.push_back(ssl);
    } else {
      if (::write(fd, buf, sizeof buf) != sizeof buf) die("client write");
      int got = 0;
      while (got < 64) {
        const auto r = ::read(fd, buf + got, 64 - got);
        if (r <= 0) die("client read");
        got += static_cast<int>(r);
      }
      plain.push_back(fd);
    }
  }
  // Idle until the server is done measuring and closes.
  char c;
  if (!held.empty()) SSL_read(held[0], &c, 1);
  if (!plain.empty()) (void)::read(plain[0], &c, 1);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: tlsmem plain|raw|raw-norelease|asio|asio-norelease N [ed25519|p256]\n");
    return 2;
  }
  const std::string mode = argv[1];
  const int n = std::atoi(argv[2]);
  const std::string key_type = argc > 3 ? argv[3] : "ed25519";

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();

  asio::ssl::context context(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  // No session tickets: the peer never resumes a TLS session (SPEC 11's resume is in the app).
  SSL_CTX_set_num_tickets(ctx, 0);
  // Variants, each by an environment variable.
  if (const char* suites = std::getenv("TLSMEM_SUITES")) {
    SSL_CTX_set_ciphersuites(ctx, suites);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  if (std::getenv("TLSMEM_NOCACHE")) SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (std::getenv("TLSMEM_SHORTLIST"))
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EVP_PKEY* key = make_key(key_type);
  X509* cert = make_certificate(key, key_type != "p256");
  if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
    die("use cert/key");
  std::fprintf(stderr, "fingerprint %s\n", spki_fingerprint(key).c_str());

  // Warm up the allocator and OpenSSL's lazy state with one connection that is then closed.
  if (mode == "plain")
    setenv("TLSMEM_PLAIN", "1", 1);
  else
    unsetenv("TLSMEM_PLAIN");
  const auto serve = [&](int count, bool keep, double& cpu) {
    std::vector<std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>>> streams;
    std::vector<SSL*> raws;
    std::vector<asio::ip::tcp::socket> sockets;
    const pid_t child = fork();
    if (child == 0) run_client(port, count);
    const double cpu0 = cpu_seconds();
    const double user0 = user_seconds();
    for (int i = 0; i < count; ++i) {
      asio::ip::tcp::socket socket = acceptor.accept();
      char buf[64];
      if (mode == "plain") {
        asio::read(socket, asio::buffer(buf));
        asio::write(socket, asio::buffer(buf));
        sockets.push_back(std::move(socket));
      } else if (mode.rfind("asio", 0) == 0) {
        auto s =
            std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket), context);
        if (mode == "asio-norelease") SSL_clear_mode(s->native_handle(), SSL_MODE_RELEASE_BUFFERS);
        s->handshake(asio::ssl::stream_base::server);
        asio::read(*s, asio::buffer(buf));
        asio::write(*s, asio::buffer(buf));
        streams.push_back(std::move(s));
      } else {
        SSL* ssl = SSL_new(ctx);
        if (mode == "raw") SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
        SSL_set_fd(ssl, socket.release());
        if (SSL_accept(ssl) != 1) die("SSL_accept");
        int got = 0;
        while (got < 64) {
          const int r = SSL_read(ssl, buf + got, 64 - got);
          if (r <= 0) die("server read");
          got += r;
        }
        if (SSL_write(ssl, buf, 64) != 64) die("server write");
        raws.push_back(ssl);
      }
    }
    cpu = cpu_seconds() - cpu0;
    user_spent = user_seconds() - user0;
    if (keep) {
      const long rss = rss_kib();
      const double heap = heap_kib();
      std::printf("%ld %.1f\n", rss, heap);
    }
    if (std::getenv("TLSMEM_NOFREE") && keep) {
      // Left allocated for a heap profiler's leak report; the idle client is ended by signal.
      for (auto& s : streams) (void)s.release();
      raws.clear();
      kill(child, SIGTERM);
    }
    for (SSL* s : raws) {
      ::close(SSL_get_fd(s));
      SSL_free(s);
    }
    streams.clear();
    sockets.clear();
    waitpid(child, nullptr, 0);
  };
  double cpu = 0;
  serve(1, false, cpu);
  malloc_trim(0);
  const long rss0 = rss_kib();
  const double heap0 = heap_kib();
  std::fflush(stdout);
  // The measured run: capture its printed figures.
  int pipefd[2];
  if (pipe(pipefd) != 0) die("pipe");
  const int saved = dup(1);
  dup2(pipefd[1], 1);
  serve(n, true, cpu);
  std::fflush(stdout);
  dup2(saved, 1);
  close(pipefd[1]);
  char text[128] = {};
  (void)::read(pipefd[0], text, sizeof text - 1);
  long rss1 = 0;
  double heap1 = 0;
  std::sscanf(text, "%ld %lf", &rss1, &heap1);
  std::printf(
      "mode=%s key=%s n=%d rss_before_kib=%ld rss_after_kib=%ld rss_per_conn_kib=%.2f "
      "heap_per_conn_kib=%.2f server_cpu_per_conn_us=%.0f (user %.0f)\n",
      mode.c_str(), key_type.c_str(), n, rss0, rss1, static_cast<double>(rss1 - rss0) / n,
      (heap1 - heap0) / n, cpu / n * 1e6, user_spent / n * 1e6);
  return 0;
}

// CPU per small message, sender and receiver, over a loopback TCP connection: plain write()
// against SSL_write (TLS 1.3), one record per message or several messages per record.
// usage: tlsrate MODE MESSAGES_PER_WRITE [SUITE] [READ_AHEAD]
//   MODE: plain | tls; SUITE e.g. TLS_AES_128_GCM_SHA256 | TLS_CHACHA20_POLY1305_SHA256
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {
constexpr int message_bytes = 120;  // about a delivery frame of a benchmark text
constexpr long total_messages = 400000;

double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

X509* self_signed(EVP_PKEY* key) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("t"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, key, EVP_sha256());
  return x;
}
}  // namespace

int main(int argc, char** argv) {
  const bool tls = std::string(argv[1]) == "tls";
  const int per_write = std::atoi(argv[2]);
  const char* suite = argc > 3 ? argv[3] : "TLS_AES_128_GCM_SHA256";
  const bool read_ahead = argc > 4 && std::atoi(argv[4]) != 0;

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  listen(listener, 1);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int server = accept(listener, nullptr, nullptr);
  int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  SSL* writer = nullptr;
  SSL* reader = nullptr;
  if (tls) {
    SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
    SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(sctx, suite);
    SSL_CTX_set_ciphersuites(cctx, suite);
    SSL_CTX_set_num_tickets(sctx, 0);
    SSL_CTX_set_mode(sctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_mode(cctx, SSL_MODE_RELEASE_BUFFERS);
    if (read_ahead) SSL_CTX_set_read_ahead(sctx, 1);
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    SSL_CTX_use_certificate(sctx, self_signed(key));
    SSL_CTX_use_PrivateKey(sctx, key);
    writer = SSL_new(cctx);
    reader = SSL_new(sctx);
    SSL_set_fd(writer, client);
    SSL_set_fd(reader, server);
    std::thread hs([&] { SSL_accept(reader); });
    SSL_connect(writer);
    hs.join();
  }

  std::atomic<double> reader_cpu{0};
  std::thread receiving([&] {
    std::vector<char> buffer(64 * 1024);
    const long expected = total_messages * message_bytes;
    long got = 0;
    const double start = thread_cpu();
    while (got < expected) {
      long n = tls ? SSL_read(reader, buffer.data(), static_cast<int>(buffer.size()))
                   : read(server, buffer.data(), buffer.size());
      if (n <= 0) break;
      got += n;
    }
    reader_cpu = thread_cpu() - start;
  });

  std::vector<char> chunk(static_cast<std::size_t>(message_bytes) * per_write, 'm');
  const double start = thread_cpu();
  for (long sent = 0; sent < total_messages; sent += per_write) {
    if (tls)
      SSL_write(writer, chunk.data(), static_cast<int>(chunk.size()));
    else
      (void)write(client, chunk.data(), chunk.size());
  }
  const double writer_cpu = thread_cpu() - start;
  receiving.join();
  std::printf(
      "mode=%s suite=%s messages_per_write=%d read_ahead=%d sender_ns_per_msg=%.0f "
      "receiver_ns_per_msg=%.0f\n",
      tls ? "tls" : "plain", tls ? suite : "-", per_write, read_ahead ? 1 : 0,
      writer_cpu / total_messages * 1e9, reader_cpu.load() / total_messages * 1e9);
}

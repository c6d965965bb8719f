// parley-bench: a single-threaded load generator for the Parley registry and, with --proto irc,
// for IRC servers. One result line on stdout; see the README's "Benchmarking" section.
#include "bench/options.hpp"
#include "bench/workloads.hpp"

#include <csignal>
#include <variant>

int main(int argc, char** argv) {
  // OpenSSL writes to its sockets with write(2): a server that closed must be an error, not the
  // end of the generator (--tls).
  std::signal(SIGPIPE, SIG_IGN);
  auto parsed = parley::bench::parse_options(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  return parley::bench::run_workload(std::get<parley::bench::options>(parsed));
}

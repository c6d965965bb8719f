// The workloads of issue 10's measured targets (docs/BENCHMARKS.md), Parley only:
//
// offline: one user pipelines DMs to offline accounts (round robin over --recipients of them,
//   so that no mailbox fills) as fast as the acknowledgements allow, keeping --inflight DMs
//   unacknowledged; only `message_stored` acknowledgements count. Meanwhile two other users
//   exchange DMs, one in flight each way, and their latency is what the others feel.
// hangup: connections from --flood-from (127.0.0.2) that each send hello, a fresh name and a
//   password, then hang up, --connect-batch of them under way at once; meanwhile one user on
//   the default address logs in and out over and over, and the time to its welcome is measured.
//
// Both log their accounts in once during setup (creating them), the offline recipients then log
// out again, so that the measured part finds the accounts existing.
#pragma once

#include "bench/options.hpp"

namespace parley::bench {

int run_offline(const options& opts);
int run_hangup(const options& opts);

}  // namespace parley::bench

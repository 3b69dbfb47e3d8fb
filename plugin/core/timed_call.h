// Runs adapter calls under a deadline. The call runs on a worker thread;
// the caller waits at most the timeout. On timeout the call is asked to
// stop (rft_call.cancelled) and abandoned: the worker keeps what it uses
// alive (shared ownership) and finishes on its own; the caller gets
// RFT_ERR_TIMEOUT at once, so the host never hangs on a slow database.
#ifndef RFTGATE_PLUGIN_CORE_TIMED_CALL_H_
#define RFTGATE_PLUGIN_CORE_TIMED_CALL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "plugin/core/status.h"
#include "rftgate/adapter_abi.h"

namespace rftgate {

// Counts calls still running after their caller gave up on them, so that a
// closing gate can wait for them (bounded) before its resources go.
class AbandonedCalls {
 public:
  void Add();
  void Done();
  // Waits until no abandoned call runs, at most `timeout_ms`. Returns true
  // when none is left.
  bool WaitIdle(int64_t timeout_ms);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
};

// Runs `body(call)` with a deadline `timeout_ms` from now (<= 0: no
// deadline, run inline). `body` returns the adapter's status and writes its
// message into call->error. `what` names the operation for messages
// ("load", "write_back"). Everything `body` captures must be owned by it
// (shared_ptr), since it may outlive this call.
Status RunTimed(const char* what, int64_t timeout_ms,
                std::function<rft_status(rft_call*)> body,
                const std::shared_ptr<AbandonedCalls>& abandoned);

// Milliseconds since the Unix epoch, now.
int64_t NowUnixMs();
// Microseconds since the Unix epoch, now.
int64_t NowUnixUs();

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_TIMED_CALL_H_

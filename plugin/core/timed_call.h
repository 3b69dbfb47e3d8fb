// Runs adapter calls under a deadline. The call runs on a worker thread;
// the caller waits at most the timeout. On timeout the call is asked to
// stop (rft_call.cancelled) and abandoned: the worker keeps what it uses
// alive (shared ownership) and finishes on its own; the caller gets
// RFT_ERR_TIMEOUT at once, so the host never hangs on a slow database.
// From the first call given up, the library this code is in stays loaded
// until the process ends, so that a host unloading the plugin cannot unmap
// code an abandoned call still runs.
#ifndef RFTGATE_PLUGIN_CORE_TIMED_CALL_H_
#define RFTGATE_PLUGIN_CORE_TIMED_CALL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

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

// A thread that runs one gate's timed calls one after the other, so that a
// call does not start (and the kernel schedule) a thread of its own. When
// a call outlives its deadline the worker is given up: its thread finishes
// that call on its own, tells AbandonedCalls, and ends.
class CallWorker {
 public:
  CallWorker();   // starts the thread; throws std::system_error
  ~CallWorker();  // ends an idle thread (a given-up one ends by itself)
  CallWorker(const CallWorker&) = delete;
  CallWorker& operator=(const CallWorker&) = delete;

  // Hands `job` to the thread (moved from); false, `job` untouched, when
  // another job is waiting or the thread was given up.
  bool Run(std::function<void()>& job);
  // The job running now is abandoned: counted in `abandoned` until it ends.
  void GiveUp(const std::shared_ptr<AbandonedCalls>& abandoned);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

// Runs `body(call)` with a deadline `timeout_ms` from now (<= 0: no
// deadline, run inline). `body` returns the adapter's status and writes its
// message into call->error. `what` names the operation for messages
// ("load", "write_back"). Everything `body` captures must be owned by it
// (shared_ptr), since it may outlive this call. With `worker`, the call
// runs on that thread (created when null, reset when given up); without,
// on a thread of its own.
Status RunTimed(const char* what, int64_t timeout_ms,
                std::function<rft_status(rft_call*)> body,
                const std::shared_ptr<AbandonedCalls>& abandoned,
                std::unique_ptr<CallWorker>* worker = nullptr);

// Milliseconds since the Unix epoch, now.
int64_t NowUnixMs();
// Microseconds since the Unix epoch, now.
int64_t NowUnixUs();

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_TIMED_CALL_H_

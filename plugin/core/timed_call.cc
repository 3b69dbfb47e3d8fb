#include "plugin/core/timed_call.h"

#include <dlfcn.h>

#include <chrono>
#include <thread>

#include "fmt/format.h"

namespace rftgate {
namespace {

struct CallState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  rft_status status = RFT_OK;
  volatile int32_t cancelled = 0;
  char error[2048] = {0};
  rft_call call{};
};

// A call given up at its deadline still runs code of this library (and,
// through what it holds, of the adapter's) after its caller returned. A
// host may then close the gate and unload the plugin: the library must
// stay mapped until that code has returned. From the first call given up,
// the library stays loaded until the process ends (RTLD_NODELETE on the
// library that is already loaded; the extra reference is never dropped).
void KeepThisLibraryLoaded() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const char kAnchor = 0;
    Dl_info info{};
    if (dladdr(&kAnchor, &info) != 0 && info.dli_fname != nullptr) {
      // NULL when this code is linked into the program itself: nothing to
      // keep then.
      (void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    }
  });
}

}  // namespace

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AbandonedCalls::Add() {
  std::lock_guard<std::mutex> lock(mu_);
  ++running_;
}

void AbandonedCalls::Done() {
  std::lock_guard<std::mutex> lock(mu_);
  --running_;
  cv_.notify_all();
}

bool AbandonedCalls::WaitIdle(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [this] { return running_ == 0; });
}

struct CallWorker::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::function<void()> job;  // waiting for the thread
  bool stop = false;
  std::shared_ptr<AbandonedCalls> abandoned;  // set when given up
};

CallWorker::CallWorker() : shared_(std::make_shared<Shared>()) {
  thread_ = std::thread([s = shared_] {
    std::unique_lock<std::mutex> lock(s->mu);
    for (;;) {
      s->cv.wait(lock, [&] { return s->job != nullptr || s->stop; });
      if (s->job != nullptr) {
        std::function<void()> job = std::move(s->job);
        s->job = nullptr;
        lock.unlock();
        job();
        job = nullptr;  // release what the call held
        lock.lock();
      }
      if (s->abandoned) {
        std::shared_ptr<AbandonedCalls> a = std::move(s->abandoned);
        lock.unlock();
        a->Done();
        return;
      }
      if (s->stop) return;
    }
  });
}

CallWorker::~CallWorker() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool CallWorker::Run(std::function<void()>& job) {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    // A job still waiting means a call from another thread: the caller
    // runs its own. (The previous job may still be returning: the new one
    // runs right after it.)
    if (shared_->job != nullptr || shared_->stop) return false;
    shared_->job = std::move(job);
  }
  shared_->cv.notify_all();
  return true;
}

void CallWorker::GiveUp(const std::shared_ptr<AbandonedCalls>& abandoned) {
  KeepThisLibraryLoaded();
  auto counter = abandoned ? abandoned : std::make_shared<AbandonedCalls>();
  counter->Add();
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop = true;
    shared_->abandoned = counter;
  }
  shared_->cv.notify_all();
  thread_.detach();
}

Status RunTimed(const char* what, int64_t timeout_ms,
                std::function<rft_status(rft_call*)> body,
                const std::shared_ptr<AbandonedCalls>& abandoned,
                std::unique_ptr<CallWorker>* worker) {
  auto state = std::make_shared<CallState>();
  state->call.struct_size = sizeof(rft_call);
  state->call.deadline_unix_ms = timeout_ms > 0 ? NowUnixMs() + timeout_ms : 0;
  state->call.cancelled = &state->cancelled;
  state->call.error = state->error;
  state->call.error_cap = sizeof state->error;

  auto finish = [](const std::shared_ptr<CallState>& s, rft_status st) {
    std::lock_guard<std::mutex> lock(s->mu);
    s->status = st;
    s->done = true;
    s->cv.notify_all();
  };

  if (timeout_ms <= 0) {
    rft_status st = body(&state->call);
    if (st == RFT_OK) return Status::Ok();
    return Status(st, state->error[0] ? state->error : "no message");
  }

  auto job = [state, body = std::move(body), finish]() mutable {
    rft_status st;
    try {
      st = body(&state->call);
    } catch (...) {
      st = RFT_ERR_INTERNAL;
    }
    body = nullptr;  // release what the call holds before signalling
    finish(state, st);
  };
  std::function<void()> fn = std::move(job);
  if (worker != nullptr) {
    try {
      if (*worker == nullptr) *worker = std::make_unique<CallWorker>();
    } catch (const std::system_error& e) {
      return Status(
          RFT_ERR_INTERNAL,
          fmt::format("cannot start a thread for {}: {}", what, e.what()));
    }
    if ((*worker)->Run(fn)) {
      std::unique_lock<std::mutex> lock(state->mu);
      if (state->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [&] { return state->done; })) {
        if (state->status == RFT_OK) return Status::Ok();
        return Status(state->status,
                      state->error[0] ? state->error : "no message");
      }
      // Read by the adapter's thread: an atomic store (the ABI's flag is a
      // plain int32_t, read with an atomic load).
      __atomic_store_n(&state->cancelled, 1, __ATOMIC_RELAXED);
      lock.unlock();
      (*worker)->GiveUp(abandoned);
      worker->reset();
      return Status(RFT_ERR_TIMEOUT,
                    fmt::format("the adapter's {} did not finish within {} ms",
                                what, timeout_ms));
    }
    // Busy (a call from another thread): a thread of its own.
  }

  std::thread thread;
  try {
    thread = std::thread(std::move(fn));
  } catch (const std::system_error& e) {
    return Status(
        RFT_ERR_INTERNAL,
        fmt::format("cannot start a thread for {}: {}", what, e.what()));
  }

  std::unique_lock<std::mutex> lock(state->mu);
  bool done = state->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                 [&] { return state->done; });
  if (done) {
    lock.unlock();
    thread.join();
    if (state->status == RFT_OK) return Status::Ok();
    return Status(state->status, state->error[0] ? state->error : "no message");
  }
  __atomic_store_n(&state->cancelled, 1, __ATOMIC_RELAXED);
  lock.unlock();
  KeepThisLibraryLoaded();
  if (abandoned) abandoned->Add();
  std::thread([w = std::move(thread), abandoned]() mutable {
    w.join();
    if (abandoned) abandoned->Done();
  }).detach();
  return Status(RFT_ERR_TIMEOUT,
                fmt::format("the adapter's {} did not finish within {} ms",
                            what, timeout_ms));
}

}  // namespace rftgate

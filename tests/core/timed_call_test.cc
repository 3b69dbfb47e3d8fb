#include "plugin/core/timed_call.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"

namespace rftgate {
namespace {

TEST(TimedCallTest, ReturnsTheBodysStatusAndMessage) {
  auto abandoned = std::make_shared<AbandonedCalls>();
  Status s = RunTimed(
      "load", 5000,
      [](rft_call* call) {
        std::snprintf(call->error, call->error_cap, "%s", "table missing");
        return RFT_ERR_CONFIG;
      },
      abandoned);
  EXPECT_EQ(s.code(), RFT_ERR_CONFIG);
  EXPECT_EQ(s.message(), "table missing");
  EXPECT_TRUE(RunTimed(
                  "load", 5000, [](rft_call*) { return RFT_OK; }, abandoned)
                  .ok());
}

TEST(TimedCallTest, GivesUpAtTheDeadlineAndAsksTheCallToStop) {
  auto abandoned = std::make_shared<AbandonedCalls>();
  auto saw_cancel = std::make_shared<std::atomic<bool>>(false);
  Status s = RunTimed(
      "load", 50,
      [saw_cancel](rft_call* call) {
        EXPECT_GT(call->deadline_unix_ms, 0);
        while (__atomic_load_n(call->cancelled, __ATOMIC_RELAXED) == 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        *saw_cancel = true;
        return RFT_ERR_CANCELLED;
      },
      abandoned);
  EXPECT_EQ(s.code(), RFT_ERR_TIMEOUT);
  EXPECT_NE(s.message().find("50 ms"), std::string::npos);
  EXPECT_TRUE(abandoned->WaitIdle(10000));
  EXPECT_TRUE(*saw_cancel);
}

TEST(TimedCallTest, ExceptionInTheBodyBecomesAStatus) {
  auto abandoned = std::make_shared<AbandonedCalls>();
  Status s = RunTimed(
      "load", 1000,
      [](rft_call*) -> rft_status { throw std::runtime_error("boom"); },
      abandoned);
  EXPECT_EQ(s.code(), RFT_ERR_INTERNAL);
}

TEST(TimedCallTest, AWorkerRunsCallAfterCallOnOneThread) {
  auto abandoned = std::make_shared<AbandonedCalls>();
  std::unique_ptr<CallWorker> worker;
  std::thread::id first, second;
  ASSERT_TRUE(RunTimed(
                  "load", 5000,
                  [&first](rft_call*) {
                    first = std::this_thread::get_id();
                    return RFT_OK;
                  },
                  abandoned, &worker)
                  .ok());
  ASSERT_NE(worker, nullptr);
  Status s = RunTimed(
      "write_back", 5000,
      [&second](rft_call* call) {
        second = std::this_thread::get_id();
        std::snprintf(call->error, call->error_cap, "%s", "disk full");
        return RFT_ERR_DATABASE;
      },
      abandoned, &worker);
  EXPECT_EQ(s.code(), RFT_ERR_DATABASE);
  EXPECT_EQ(s.message(), "disk full");
  EXPECT_EQ(first, second);
  EXPECT_NE(first, std::this_thread::get_id());
  EXPECT_EQ(RunTimed(
                "load", 1000,
                [](rft_call*) -> rft_status { throw std::runtime_error("x"); },
                abandoned, &worker)
                .code(),
            RFT_ERR_INTERNAL);
}

TEST(TimedCallTest, AWorkerStuckPastTheDeadlineIsGivenUpAndReplaced) {
  auto abandoned = std::make_shared<AbandonedCalls>();
  std::unique_ptr<CallWorker> worker;
  auto release = std::make_shared<std::atomic<bool>>(false);
  Status s = RunTimed(
      "load", 50,
      [release](rft_call* call) {
        // Ignores the cancellation until released.
        while (!*release ||
               __atomic_load_n(call->cancelled, __ATOMIC_RELAXED) == 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return RFT_ERR_CANCELLED;
      },
      abandoned, &worker);
  EXPECT_EQ(s.code(), RFT_ERR_TIMEOUT);
  EXPECT_EQ(worker, nullptr);
  // The next call runs at once, on a new worker, while the old one is
  // still stuck.
  EXPECT_TRUE(
      RunTimed(
          "load", 5000, [](rft_call*) { return RFT_OK; }, abandoned, &worker)
          .ok());
  EXPECT_NE(worker, nullptr);
  EXPECT_FALSE(abandoned->WaitIdle(0));
  *release = true;
  EXPECT_TRUE(abandoned->WaitIdle(10000));
}

}  // namespace
}  // namespace rftgate

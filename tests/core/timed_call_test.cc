#include "plugin/core/timed_call.h"

#include <atomic>
#include <chrono>
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
        while (*call->cancelled == 0)
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

}  // namespace
}  // namespace rftgate

#include "plugin/config/logging.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"

namespace rftgate {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

struct Captured {
  std::vector<std::pair<int32_t, std::string>> lines;
};

void Capture(void* ctx, int32_t level, const char* message, size_t len) {
  static_cast<Captured*>(ctx)->lines.emplace_back(level,
                                                  std::string(message, len));
}

TEST(PluginLoggerTest, CallbackGetsMaskedMessagesWithLevels) {
  Captured captured;
  LoggingConfig config;
  config.level = "debug";
  auto logger = MakePluginLogger(config, &Capture, &captured, {"Tr0ub4dor"});
  ASSERT_NE(logger, nullptr);
  logger->trace("not shown");
  logger->debug("opening {}", "postgresql://dbname=wms password=Tr0ub4dor");
  logger->info("uri {}", "postgresql://bob:pw@db/wms");
  logger->warn("the password is Tr0ub4dor");
  logger->error("failed");
  logger->critical("down");
  EXPECT_THAT(
      captured.lines,
      ElementsAre(Pair(RFT_LOG_DEBUG,
                       "opening postgresql://dbname=wms "
                       "password=***"),
                  Pair(RFT_LOG_INFO, "uri postgresql://bob:***@db/wms"),
                  Pair(RFT_LOG_WARN, "the password is ***"),
                  Pair(RFT_LOG_ERROR, "failed"), Pair(RFT_LOG_ERROR, "down")));
}

TEST(PluginLoggerTest, PasswordFromConfigNeverReachesTheLog) {
  ::setenv("RFTGATE_TEST_LOG_PASSWORD", "S3cr3t-Value", 1);
  const ConfigResult result = LoadConfigText(
      "adapter:\n  name: sql\n  connection: postgresql://dbname=wms\n"
      "  password_env: RFTGATE_TEST_LOG_PASSWORD\nlogging:\n  level: trace\n",
      "/cfg");
  ::unsetenv("RFTGATE_TEST_LOG_PASSWORD");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  const Config& config = result.config();
  Captured captured;
  auto logger =
      MakePluginLogger(config.logging, &Capture, &captured, config.secrets);
  ASSERT_NE(logger, nullptr);
  logger->info("connecting with {}", config.adapter.connection);
  logger->info("raw S3cr3t-Value in a driver message");
  ASSERT_EQ(captured.lines.size(), 2u);
  for (const auto& [level, line] : captured.lines) {
    EXPECT_THAT(line, Not(HasSubstr("S3cr3t")));
  }
  EXPECT_EQ(captured.lines[0].second,
            "connecting with postgresql://dbname=wms password=***");
}

TEST(PluginLoggerTest, WritesMaskedLinesToAFile) {
  const fs::path file =
      fs::path(::testing::TempDir()) /
      ("rftgate_logging_test_" + std::to_string(::getpid()) + ".log");
  fs::remove(file);
  {
    LoggingConfig config;
    config.file = file;
    auto logger = MakePluginLogger(config, nullptr, nullptr, {"literal-pw"});
    ASSERT_NE(logger, nullptr);
    logger->debug("below the level");
    logger->info("pwd=abc and literal-pw");
  }
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("[rftgate] [info] pwd=*** and ***\n"));
  EXPECT_THAT(text.str(), Not(HasSubstr("below the level")));
  EXPECT_THAT(text.str(), Not(HasSubstr("literal-pw")));
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::others_all,
            fs::perms::none);
  fs::remove(file);
}

TEST(PluginLoggerTest, LeavesSpdlogGlobalsAlone) {
  auto default_before = spdlog::default_logger();
  const auto level_before = spdlog::get_level();
  Captured captured;
  LoggingConfig config;
  config.level = "trace";
  auto logger = MakePluginLogger(config, &Capture, &captured, {});
  ASSERT_NE(logger, nullptr);
  EXPECT_EQ(spdlog::get(kPluginLoggerName), nullptr);
  EXPECT_EQ(spdlog::default_logger(), default_before);
  EXPECT_EQ(spdlog::get_level(), level_before);
  EXPECT_EQ(logger->name(), kPluginLoggerName);
  // A global level change does not reach the plugin's logger.
  spdlog::set_level(spdlog::level::off);
  logger->trace("still here");
  spdlog::set_level(level_before);
  EXPECT_EQ(captured.lines.size(), 1u);
}

TEST(PluginLoggerTest, SafeFromSeveralThreads) {
  Captured captured;
  std::mutex mutex;
  struct Ctx {
    Captured* captured;
    std::mutex* mutex;
  } ctx{&captured, &mutex};
  auto logger =
      MakePluginLogger(LoggingConfig{},
                       [](void* c, int32_t level, const char* m, size_t n) {
                         auto* context = static_cast<Ctx*>(c);
                         std::lock_guard<std::mutex> lock(*context->mutex);
                         Capture(context->captured, level, m, n);
                       },
                       &ctx, {});
  ASSERT_NE(logger, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < 100; ++i) logger->info("t{} i{} password=x", t, i);
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(captured.lines.size(), 400u);
  for (const auto& [level, line] : captured.lines) {
    EXPECT_THAT(line, HasSubstr("password=***"));
  }
}

TEST(PluginLoggerTest, RefusesBadLevelAndUnopenableFile) {
  std::string error;
  LoggingConfig config;
  config.level = "loud";
  EXPECT_EQ(MakePluginLogger(config, nullptr, nullptr, {}, &error), nullptr);
  EXPECT_THAT(error, HasSubstr("unknown log level 'loud'"));
  config.level = "info";
  config.file = "/nonexistent/dir/rftgate.log";
  EXPECT_EQ(MakePluginLogger(config, nullptr, nullptr, {}, &error), nullptr);
  EXPECT_THAT(error, HasSubstr("cannot open the log file "
                               "'/nonexistent/dir/rftgate.log'"));
}

TEST(PluginLoggerTest, StderrWithoutCallbackOrFile) {
  auto logger = MakePluginLogger(LoggingConfig{}, nullptr, nullptr, {"zz9"});
  ASSERT_NE(logger, nullptr);
  ::testing::internal::CaptureStderr();
  logger->info("to stderr zz9");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("to stderr ***"));
}

}  // namespace
}  // namespace rftgate

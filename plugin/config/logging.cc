#include "plugin/config/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "plugin/config/mask.h"
#include "spdlog/sinks/base_sink.h"

namespace rftgate {
namespace {

std::optional<spdlog::level::level_enum> ParseLevel(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "off") return spdlog::level::off;
  return std::nullopt;
}

int32_t ToRftLevel(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return RFT_LOG_TRACE;
    case spdlog::level::debug:
      return RFT_LOG_DEBUG;
    case spdlog::level::info:
      return RFT_LOG_INFO;
    case spdlog::level::warn:
      return RFT_LOG_WARN;
    default:
      return RFT_LOG_ERROR;
  }
}

// Writes masked messages to a host callback and/or a stream. Owns `stream`
// unless it is stderr.
class MaskingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  MaskingSink(std::vector<std::string> secrets, rft_log_fn callback,
              void* callback_ctx, std::FILE* stream)
      : secrets_(std::move(secrets)),
        callback_(callback),
        callback_ctx_(callback_ctx),
        stream_(stream) {}

  ~MaskingSink() override {
    if (stream_ != nullptr && stream_ != stderr) std::fclose(stream_);
  }

  MaskingSink(const MaskingSink&) = delete;
  MaskingSink& operator=(const MaskingSink&) = delete;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (callback_ != nullptr) {
      const std::string text = MaskSecrets(
          std::string_view(msg.payload.data(), msg.payload.size()), secrets_);
      callback_(callback_ctx_, ToRftLevel(msg.level), text.data(), text.size());
    }
    if (stream_ != nullptr) {
      spdlog::memory_buf_t formatted;
      formatter_->format(msg, formatted);
      const std::string line = MaskSecrets(
          std::string_view(formatted.data(), formatted.size()), secrets_);
      std::fwrite(line.data(), 1, line.size(), stream_);
      std::fflush(stream_);
    }
  }

  void flush_() override {
    if (stream_ != nullptr) std::fflush(stream_);
  }

 private:
  const std::vector<std::string> secrets_;
  const rft_log_fn callback_;
  void* const callback_ctx_;
  std::FILE* const stream_;
};

void SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

}  // namespace

std::shared_ptr<spdlog::logger> MakePluginLogger(
    const LoggingConfig& config, rft_log_fn callback, void* callback_ctx,
    std::vector<std::string> secrets, std::string* error) {
  const std::optional<spdlog::level::level_enum> level =
      ParseLevel(config.level);
  if (!level) {
    SetError(error, fmt::format("unknown log level '{}'; allowed: trace, "
                                "debug, info, warn, error, off",
                                config.level));
    return nullptr;
  }
  std::FILE* stream = nullptr;
  if (!config.file.empty()) {
    const int fd = ::open(config.file.c_str(),
                          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) stream = ::fdopen(fd, "a");
    if (stream == nullptr) {
      const int saved = errno;
      if (fd >= 0) ::close(fd);
      SetError(error, fmt::format("cannot open the log file '{}': {}",
                                  config.file.string(), std::strerror(saved)));
      return nullptr;
    }
  } else if (callback == nullptr) {
    stream = stderr;
  }
  try {
    auto sink = std::make_shared<MaskingSink>(std::move(secrets), callback,
                                              callback_ctx, stream);
    auto logger =
        std::make_shared<spdlog::logger>(kPluginLoggerName, std::move(sink));
    logger->set_level(*level);
    return logger;
  } catch (const std::exception& e) {
    SetError(error, fmt::format("cannot make the logger: {}", e.what()));
    return nullptr;
  }
}

}  // namespace rftgate

// The plugin's own logger: never registered with spdlog, never the default
// logger, synchronous, with every line passed through MaskSecrets.
#ifndef RFTGATE_PLUGIN_CONFIG_LOGGING_H_
#define RFTGATE_PLUGIN_CONFIG_LOGGING_H_

#include <memory>
#include <string>
#include <vector>

#include "plugin/config/config.h"
#include "rftgate/common.h"
#include "spdlog/logger.h"

namespace rftgate {

// Name of the plugin's logger, shown in stderr and file lines.
inline constexpr char kPluginLoggerName[] = "rftgate";

// Makes the plugin's logger at `config.level`:
//  - with `callback`, each message (masked, without time or level prefix) is
//    passed to it with its rft_log_level; spdlog's critical maps to
//    RFT_LOG_ERROR. The callback must be callable from any thread and stay
//    valid as long as the logger lives;
//  - with `config.file`, formatted lines are appended to that file (created
//    with mode 0640 if missing) and flushed line by line;
//  - with neither, formatted lines go to stderr.
// Before a message reaches any output, MaskSecrets(message, secrets) hides
// passwords in it. The logger does not touch spdlog's registry, default
// logger or global level; it may be used from several threads.
// Returns nullptr and stores a message in *error (when non-null) if the
// level is unknown or the file cannot be opened.
std::shared_ptr<spdlog::logger> MakePluginLogger(
    const LoggingConfig& config, rft_log_fn callback, void* callback_ctx,
    std::vector<std::string> secrets, std::string* error = nullptr);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CONFIG_LOGGING_H_

// The plugin's configuration: one YAML file read into a validated Config.
// Every key, its type and default are described in docs/configuration.md.
#ifndef RFTGATE_PLUGIN_CONFIG_CONFIG_H_
#define RFTGATE_PLUGIN_CONFIG_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "nlohmann/json.hpp"
#include "plugin/config/mask.h"
#include "plugin/engine/ruleset.h"

namespace rftgate {

// What the verdict is when the checks cannot run (database down, timeout).
enum class FailurePolicy { kHold, kRelease };

std::string_view FailurePolicyName(FailurePolicy p);  // "hold" | "release"

struct AdapterConfig {
  // Matches ^[a-z][a-z0-9_]{0,63}$; the library is
  // librftgate_adapter_<name>.so.
  std::string name;
  // Absolute and lexically normal; empty = the loader's default folders.
  // Only recorded here: the loader checks that they are not writable by
  // others.
  std::vector<std::filesystem::path> library_dirs;
  // The SOCI connection string with the password from password_env or
  // password_file added. Holds a secret: never log it, log
  // `connection_masked`.
  std::string connection;
  std::string connection_masked;
  // `adapter.options` as JSON, scalars typed as YAML wrote them. Paths in
  // it are not resolved: the adapter resolves them from the config folder.
  nlohmann::json options = nlohmann::json::object();
  // Optional pin of the library's SHA-256, 64 lowercase hex digits.
  std::string sha256;
};

// Per-call deadlines, milliseconds, each > 0.
struct Timeouts {
  int64_t open_ms = 10000;   // open the adapter and connect
  int64_t load_ms = 30000;   // load one wave
  int64_t write_ms = 30000;  // write one wave back
};

struct LoggingConfig {
  // One of trace, debug, info, warn, error, off.
  std::string level = "info";
  // Absolute; empty = the host's log callback, or stderr without one.
  std::filesystem::path file;
};

struct Config {
  std::string source;  // the file's path, or the name given with the text
  std::filesystem::path base_dir;  // absolute; relative paths resolve here
  AdapterConfig adapter;
  // Complete (every catalogue check), time zones filled, revision computed.
  Ruleset ruleset;
  FailurePolicy failure_policy = FailurePolicy::kHold;
  Timeouts timeouts;
  LoggingConfig logging;
  // `writeback.apply_holds`: also set the WMS's own hold flag or status on
  // held orders, where the adapter's mapping names one.
  bool apply_holds = false;
  // `wave.page_orders`: a wave of more orders than this is checked and
  // written a page of this many orders at a time (when the adapter can), so
  // that memory does not grow with the wave; 0 = always whole.
  uint64_t page_orders = 20000;
  // Literal secret values (the resolved password, also as quoted in the
  // connection string) to hand to MakePluginLogger. Never log them.
  std::vector<std::string> secrets;
  // Things accepted but worth a log line ("file:line:column: message"),
  // e.g. a password written in the YAML itself.
  std::vector<std::string> warnings;
};

// Why a config was refused. `line`/`column` are 1-based; 0 when the error
// is about the file as a whole. `message` never holds a secret.
struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  // "file:line:column: message", or "file: message" without a line.
  std::string ToString() const;
};

// Either a Config or the first error found.
class ConfigResult {
 public:
  // Implicit, so that a loader can return either a Config or an error.
  ConfigResult(Config config) : value_(std::move(config)) {}
  ConfigResult(ConfigError error) : value_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<Config>(value_); }
  // Require ok().
  const Config& config() const& { return std::get<Config>(value_); }
  Config&& config() && { return std::get<Config>(std::move(value_)); }
  // Requires !ok().
  const ConfigError& error() const { return std::get<ConfigError>(value_); }

 private:
  std::variant<Config, ConfigError> value_;
};

// Reads and validates the config file at `path`. Relative paths in it
// resolve from the file's folder. Never throws.
ConfigResult LoadConfigFile(const std::filesystem::path& path);

// Validates config text. Relative paths resolve from `base_dir` (made
// absolute from the current directory; empty = the current directory);
// errors name `source_name` as their file. Never throws.
ConfigResult LoadConfigText(std::string_view yaml,
                            const std::filesystem::path& base_dir,
                            std::string_view source_name = "<yaml>");

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CONFIG_CONFIG_H_

// The effective rules of a gate: severity and parameters of every check,
// time zones per site, and the revision (hash) that identifies them.
// Built by the config reader, read by the engine. Immutable once built;
// safe to share between threads.
#ifndef RFTGATE_PLUGIN_ENGINE_RULESET_H_
#define RFTGATE_PLUGIN_ENGINE_RULESET_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plugin/engine/catalogue.h"

namespace rftgate {

using ParamValue =
    std::variant<bool, int64_t, double, std::string, std::vector<std::string>>;

struct CheckSettings {
  Severity severity = Severity::kOff;
  // Every parameter of the check's spec, defaults filled in.
  std::map<std::string, ParamValue, std::less<>> params;
};

struct Ruleset {
  // One entry per catalogue id (built-in checks), always complete.
  std::map<std::string, CheckSettings, std::less<>> checks;
  // IANA zone names ("Europe/Paris"); "UTC" when nothing is configured.
  std::string default_timezone = "UTC";
  std::map<std::string, std::string, std::less<>> site_timezones;
  // Hex SHA-256 (first 16 hex digits) of the effective rules in canonical
  // form; identical rules give identical revisions.
  std::string revision;

  // Accessors for the engine. The check and parameter must exist in the
  // catalogue with that type (a programming error otherwise: throws
  // std::logic_error).
  Severity SeverityOf(std::string_view check_id) const;
  bool Bool(std::string_view check_id, std::string_view param) const;
  int64_t Int(std::string_view check_id, std::string_view param) const;
  double Number(std::string_view check_id, std::string_view param) const;
  const std::string& String(std::string_view check_id,
                            std::string_view param) const;
  const std::vector<std::string>& StringList(std::string_view check_id,
                                             std::string_view param) const;
  const std::string& TimezoneOf(std::string_view site) const;

  // rft_capability bits of the inputs the checks that are on read (see
  // InputsReadBy); never 0: the item master and units are always read.
  uint64_t InputsNeeded() const;
};

// The ruleset of the catalogue's defaults (no config), with its revision.
Ruleset DefaultRuleset();

// Computes `revision` from checks and time zones (canonical text, SHA-256).
void ComputeRevision(Ruleset& ruleset);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_RULESET_H_

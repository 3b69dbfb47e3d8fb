// Masking of secrets in text that may reach a log line or an error message.
#ifndef RFTGATE_PLUGIN_CONFIG_MASK_H_
#define RFTGATE_PLUGIN_CONFIG_MASK_H_

#include <string>
#include <string_view>
#include <vector>

namespace rftgate {

// What replaces a secret.
inline constexpr std::string_view kMask = "***";

// Returns `text` with the value of every password-like setting replaced by
// "***":
//  - `password=`, `passwd=`, `pwd=` (any case, spaces around `=` allowed,
//    also with `:` as in YAML or JSON, the key optionally quoted); the value
//    is single-quoted (backslash escapes), double-quoted, `{braced}` (ODBC)
//    or bare up to the next space, `;` or `&`;
//  - the password of a URI's user info: `scheme://user:secret@host`.
// Keys that merely start with such a word (`password_env`) are left alone.
std::string MaskSecrets(std::string_view text);

// MaskSecrets, then every occurrence of each non-empty literal in `secrets`
// replaced by "***" (longest first).
std::string MaskSecrets(std::string_view text,
                        const std::vector<std::string>& secrets);

// The values MaskSecrets would hide in `text`, unquoted where they were
// quoted (as written, escapes kept). Empty values are omitted.
std::vector<std::string> FindSecrets(std::string_view text);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CONFIG_MASK_H_

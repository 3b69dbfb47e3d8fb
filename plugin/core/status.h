// Status: the plugin's value type for expected failures. A code from the C
// ABI (rft_status) and a message for people.
#ifndef RFTGATE_PLUGIN_CORE_STATUS_H_
#define RFTGATE_PLUGIN_CORE_STATUS_H_

#include <string>
#include <utility>

#include "rftgate/common.h"

namespace rftgate {

class Status {
 public:
  Status() = default;
  Status(rft_status code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == RFT_OK; }
  rft_status code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  rft_status code_ = RFT_OK;
  std::string message_;
};

// Name of a status code ("database", "timeout"...), for messages.
const char* StatusCodeName(rft_status code);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_STATUS_H_

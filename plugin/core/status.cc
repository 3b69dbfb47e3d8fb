#include "plugin/core/status.h"

namespace rftgate {

const char* StatusCodeName(rft_status code) {
  switch (code) {
    case RFT_OK:
      return "ok";
    case RFT_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case RFT_ERR_ABI:
      return "ABI mismatch";
    case RFT_ERR_CONFIG:
      return "config";
    case RFT_ERR_ADAPTER:
      return "adapter";
    case RFT_ERR_DATABASE:
      return "database";
    case RFT_ERR_TIMEOUT:
      return "timeout";
    case RFT_ERR_CANCELLED:
      return "cancelled";
    case RFT_ERR_NOT_FOUND:
      return "not found";
    case RFT_ERR_UNSUPPORTED:
      return "unsupported";
    case RFT_ERR_INTERNAL:
      return "internal";
  }
  return "unknown";
}

}  // namespace rftgate

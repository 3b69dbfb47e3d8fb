// Libraries that are not good adapters, for the loader's tests. Which one is
// built is chosen by a macro.
#include <cstring>

#include "rftgate/adapter_abi.h"

#if defined(RFT_TEST_NO_ENTRY)
// A shared library that exports something, but not rft_adapter_entry.
extern "C" RFT_EXPORT int rft_something_else(void) { return 42; }
#elif defined(RFT_TEST_FUTURE_ABI)
// An adapter built for a later major version of the adapter ABI.
namespace {
rft_adapter_api FutureApi() {
  rft_adapter_api api{};
  api.struct_size = sizeof(rft_adapter_api);
  api.abi_major = RFT_ADAPTER_ABI_MAJOR + 1;
  api.name = "future";
  api.version = "9.0.0";
  return api;
}
const rft_adapter_api kApi = FutureApi();
}  // namespace
extern "C" RFT_EXPORT rft_status rft_adapter_entry(uint32_t, uint32_t,
                                                   const rft_adapter_api** out,
                                                   char*, size_t) {
  *out = &kApi;
  return RFT_OK;
}
#endif

// A wave: the orders to check and everything needed to judge them, as an
// adapter delivered it through the adapter ABI, copied and interned into
// contiguous arrays. Built by WaveBuilder; read by the Engine.
#ifndef RFTGATE_PLUGIN_ENGINE_WAVE_H_
#define RFTGATE_PLUGIN_ENGINE_WAVE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "rftgate/adapter_abi.h"

namespace rftgate {

struct WaveData;  // defined in plugin/engine/wave_data.h (engine-private)
struct WaveBuilderState;  // engine-private

class Wave {
 public:
  Wave();
  ~Wave();
  Wave(Wave&&) noexcept;
  Wave& operator=(Wave&&) noexcept;

  size_t order_count() const;
  size_t line_count() const;
  uint64_t capabilities() const;  // rft_capability bits
  const WaveData& data() const;

 private:
  friend class WaveBuilder;
  std::unique_ptr<WaveData> data_;
};

// Receives records from an adapter (the plugin's rft_wave_sink forwards
// here). Not thread-safe; one builder per load.
class WaveBuilder {
 public:
  WaveBuilder();
  ~WaveBuilder();
  WaveBuilder(const WaveBuilder&) = delete;
  WaveBuilder& operator=(const WaveBuilder&) = delete;

  // Copies `count` records of `kind` (rft_record_kind), walked by the
  // struct_size of the first record. Returns RFT_OK, or
  // RFT_ERR_INVALID_ARGUMENT with a message in *error naming the record
  // kind, its index and the problem (unknown kind, struct_size too small
  // for the required fields, missing ref, scale out of range...).
  rft_status Put(int32_t kind, const void* records, size_t count,
                 std::string* error);

  void SetCapabilities(uint64_t capabilities);

  // Hands over the wave; the builder is empty afterwards.
  Wave Finish();

 private:
  std::unique_ptr<WaveData> data_;
  std::unique_ptr<WaveBuilderState> state_;
};

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_WAVE_H_

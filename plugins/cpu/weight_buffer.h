// The memory that holds a layer's repacked expert weights: one anonymous
// mapping, 2 MiB aligned and advised for transparent huge pages
// (MADV_HUGEPAGE). Decode streams hundreds of MB of weights per forward;
// with 4 KiB pages every page is a TLB miss and a point where the hardware
// prefetcher stops (it does not cross pages). Measured on the Zen 3 VM
// (THP "madvise"): the panel16 stream at M = 1 ran 6-10% faster on huge
// pages. Where THP is off the advice is ignored and 4 KiB pages are used.
#pragma once

#include <cstddef>
#include <cstdint>

namespace moert_cpu {

class WeightBuffer {
 public:
  WeightBuffer() = default;
  WeightBuffer(const WeightBuffer&) = delete;
  WeightBuffer& operator=(const WeightBuffer&) = delete;
  ~WeightBuffer() { release(); }
  // Replaces the contents with `bytes` zero bytes, 2 MiB aligned. Throws
  // StatusError(MOERT_STATUS_OUT_OF_MEMORY) when the mapping fails.
  void allocate(size_t bytes);
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void release();
  void* map_ = nullptr;  // the whole mapping (data_ is its first 2 MiB boundary)
  size_t map_bytes_ = 0;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace moert_cpu

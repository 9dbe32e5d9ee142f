#include "weight_buffer.h"

#include <sys/mman.h>

#include <string>

#include "cpu_layer.h"

namespace moert_cpu {

namespace {
constexpr size_t kHuge = size_t(2) << 20;
}

void WeightBuffer::allocate(size_t bytes) {
  release();
  if (bytes == 0) return;
  // One huge page of slack so that data_ can start on a 2 MiB boundary.
  const size_t want = (bytes + kHuge - 1) / kHuge * kHuge + kHuge;
  void* m = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    throw StatusError(MOERT_STATUS_OUT_OF_MEMORY, "cpu set_weights: cannot map " + std::to_string(bytes) +
                                                      " bytes for the repacked weights");
  map_ = m;
  map_bytes_ = want;
  const uintptr_t p = reinterpret_cast<uintptr_t>(m);
  data_ = reinterpret_cast<uint8_t*>((p + kHuge - 1) / kHuge * kHuge);
  size_ = bytes;
  madvise(data_, (bytes + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);  // advice only: failure is harmless
}

void WeightBuffer::release() {
  if (map_) munmap(map_, map_bytes_);
  map_ = nullptr;
  map_bytes_ = 0;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace moert_cpu

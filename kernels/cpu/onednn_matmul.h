// oneDNN matmul with a run-time M: one primitive serves every token count of
// an expert (created once per (K, N, dtype) at layer creation, never per
// forward). dst [M, N] f32 = src [M, K] x W, W given as [K, N] logically.
#pragma once

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>

namespace moert_cpu {

class RuntimeMMatmul {
 public:
  // bf16 = true: bf16 src and weights (f32 accumulation and dst); else f32.
  // plain_nk = true: weights are a row-major [N, K] buffer (oneDNN "ba"), as
  // used for dequantized tiles; false: the layout oneDNN prefers (format
  // "any"), into which repack() converts the ABI's [N, K] weights once.
  RuntimeMMatmul(const dnnl::engine& eng, int64_t K, int64_t N, bool bf16, bool plain_nk);

  size_t packed_weight_bytes() const { return pd_.weights_desc().get_size(); }
  // Reorders one expert's row-major [N, K] weights into the preferred layout.
  void repack(dnnl::stream& s, const void* nk_weights, void* packed) const;  // blocking
  // dst [M, N] (row stride N) = src [M, K] x W. Blocking.
  void execute(dnnl::stream& s, const void* src, int64_t M, const void* weights, float* dst) const;
  const char* impl() const { return pd_.impl_info_str(); }
  // True when the packed weights are plain row-major [K, N] ("ab").
  bool weights_plain_kn() const { return pd_.weights_desc() == dnnl::memory::desc({K_, N_}, dt_, dnnl::memory::format_tag::ab); }



 private:
  dnnl::engine eng_;
  int64_t K_, N_;
  dnnl::memory::data_type dt_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
};

}  // namespace moert_cpu

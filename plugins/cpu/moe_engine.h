// CpuMoe: one MoE layer on the CPU. Owns the repacked weights and the oneDNN
// primitives (created once, in the constructor); forward() and apply() only
// carve the caller's workspace and run.
//
// Expert loop, per local expert with M routed tokens:
//   gather x rows -> GEMM1 (+bias, activation, rounding to the activation
//   dtype) -> GEMM2 (+bias) -> weighted scatter-add into an f32 accumulator.
// GEMMs: f32 weights (and bf16 ones where oneDNN has a bf16 matmul) ->
// oneDNN matmul with a run-time M on weights repacked once into oneDNN's
// preferred layout; bf16 weights with bf16 activations elsewhere (every
// AVX2-only CPU) -> the panel16 AVX2 kernels on weights repacked once into
// that layout (bf16_panel.h); fp8/MXFP4 weights -> for
// M <= small_batch the fused-dequant streaming kernel (ISA chosen at run
// time), else dequantize a 128-row tile, multiply it with oneDNN, next tile.
// Threading: when at least as many experts are active as there are threads
// and an expert is small (< kSplitExpertBytes), threads take whole experts
// (largest first; oneDNN runs single-threaded inside). Big panel16 experts
// (decode and small batches) take the owners schedule: each thread owns
// whole experts, heavy ones from one end of the list and light ones from the
// other, so compute-bound and memory-bound experts run at the same time, and
// an idle thread takes column chunks of the others'. Otherwise experts run
// one after another with every thread inside each GEMM. Expert outputs land
// in a slot-indexed buffer and one pass over hidden-size columns combines
// them, so no two threads write the same row.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bf16_panel.h"
#include "cpu_layer.h"
#include "isa_kernels.h"
#include "onednn_matmul.h"
#include "token_grouping.h"
#include "weight_buffer.h"

namespace moert_cpu {

class CpuMoe {
 public:
  explicit CpuMoe(const moert_layer_desc* layer);  // throws StatusError
  ~CpuMoe();

  const CpuLayer& layer() const { return L_; }
  size_t workspace_size(int64_t max_tokens) const;
  void set_weights(const moert_expert_weights* w);
  void forward(const moert_forward_args* a);   // the "cpu" runner
  void apply(const moert_experts_args* a);     // the "cpu" experts kernel

 private:
  struct Buffers;
  struct Arena;  // one thread's scratch for one expert at a time
  Buffers carve(const moert_tensor& workspace, int64_t T) const;
  static size_t layout_arena(char* base, int64_t T, int64_t H, int64_t I, int64_t R, bool direct, Arena* out);
  void run_experts(const float* x32, int64_t T, const ExpertGroups& g, float* out32, Buffers& b);
  void run_experts_owners(const float* x32, const ExpertGroups& g, int32_t active, Buffers& b);
  void run_expert(int32_t e, const float* x32, const int32_t* tokens, int64_t M, float* y, Arena& ar, bool intra);
  void expert_gemm(int which, int32_t e, const float* x, const uint16_t* x16, int64_t M, float* y, Arena& ar,
                   bool intra);
  void run_shared(const moert_shared_expert* s, const float* x32, int64_t T, float* out32, Buffers& b);
  RowMajorWeights quant_view(int which, int32_t e) const;

  CpuLayer L_;
  const IsaKernels* isa_ = nullptr;
  Bf16KnFn bf16_kn_ = nullptr;          // vdpbf16ps small-M kernel (AVX512_BF16 CPUs)
  Bf16PanelGemmFn panel_ = nullptr;     // set: bf16 experts on the panel16 AVX2 kernels
  bool bf16_kn_ok_[2] = {false, false};  // per matrix: shapes and packed layout fit it
  int threads_ = 1;  // fixed at creation: the workspace holds one arena per thread
  dnnl::engine eng_;
  std::vector<dnnl::stream> streams_;  // one per thread, for forwards
  std::unique_ptr<RuntimeMMatmul> mm13_, mm2_;            // unquantized experts
  std::unique_ptr<RuntimeMMatmul> tile13_, tile2_;        // dequantized tiles
  bool has_weights_ = false;
  // Weights as kept: unquantized -> packed per expert; quantized -> as given.
  struct Owned {
    WeightBuffer data;              // huge-page backed (weight_buffer.h)
    size_t expert_bytes = 0;
    const uint8_t* base() const { return data.data(); }
    uint8_t* base() { return data.data(); }
    std::vector<float> scale;       // fp8
    std::vector<uint8_t> mx_scale;  // mxfp4
    std::vector<float> bias;        // [E_local, rows] when has_bias
  } w13_, w2_;
  std::vector<float> score_bias_;   // grouped top-k correction bias [E]
};

}  // namespace moert_cpu

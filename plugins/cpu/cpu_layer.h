// The CPU backend's view of a layer: checks a moert_layer_desc against what
// this backend implements (each "no" names the field, what was expected and
// what was given) and keeps a validated copy, options included.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace moert_cpu {

// An error that carries its ABI status; plugin entry points turn it into a
// moert_error with that code (see plugin_errors.h).
struct StatusError : std::runtime_error {
  StatusError(moert_status c, const std::string& m) : std::runtime_error(m), code(c) {}
  moert_status code;
};

struct CpuLayer {
  moert_layer_desc desc{};           // pointer fields cleared; copies below
  std::vector<int32_t> expert_map;   // empty = identity
  int32_t num_physical = 0;          // num_experts + num_redundant_experts
  int64_t rows13 = 0;                // R: 2I for gated activations, I otherwise
  bool bf16 = false;                 // activation dtype bf16 (else f32)
  bool direct_weights = false;       // weights kept as given ([N, K]) and converted block by block
                                     // (fp8, MXFP4, or f32/bf16 weights with the other activation
                                     // dtype); false: repacked for oneDNN
  // options (layer options in YAML)
  int32_t num_threads = 0;           // "num_threads"; 0 = OpenMP default
  std::string isa;                   // "isa": "avx2" forces the baseline kernels
  int64_t small_batch = 8;           // "small_batch": quantized experts with at most this many
                                     // tokens use the fused-dequant streaming kernel
  int64_t gemv_rows = 4;             // "gemv_rows": f32/bf16 experts with at most this many tokens
                                     // (and a matrix of <= 8 MiB) run one oneDNN gemv per token
  int64_t bf16_rows = 16;            // "bf16_rows": bf16 experts with at most this many tokens use
                                     // the vdpbf16ps kernel when the CPU has AVX512_BF16
  // "bf16_gemm": who multiplies bf16 weights with bf16 activations. "onednn":
  // oneDNN matmul (needs AVX-512: oneDNN 2.6 has no bf16 matmul below it);
  // "avx2": the panel16 AVX2 kernels (bf16_panel.h). "auto": oneDNN where
  // the CPU has AVX512_BF16, else avx2. Resolved here: bf16_gemm_onednn.
  std::string bf16_gemm = "auto";
  bool bf16_gemm_onednn = false;
  int64_t shared_intermediate_max = 0;  // "shared_intermediate_size" (default 4 * I)
  // "expert_schedule": how the threads share the experts. "experts": threads
  // take whole experts; "columns": experts one after another, every GEMM
  // split over the threads; "owners" (panel16 only): each thread owns whole
  // experts (light and heavy ones at the same time), an idle thread takes
  // column chunks of the others'; "auto": owners for panel16 experts of
  // kSplitExpertBytes or more with at most kOwnerMaxSlots slots, columns for
  // other experts that big, experts otherwise (when enough are active).
  std::string expert_schedule = "auto";
};

// Throws StatusError (UNIMPLEMENTED for valid requests this backend does not
// do, INVALID_ARGUMENT for inconsistent ones).
CpuLayer parse_layer(const moert_layer_desc* d);

// "[2, 3]" for messages.
std::string shape_str(const moert_tensor& t);
std::string dtype_str(moert_dtype d);

// Throws INVALID_ARGUMENT naming `what` unless t is present, on the CPU, of
// dtype `dtype` and shape `shape` (for 4-bit types: logical elements).
void expect_tensor(const moert_tensor& t, const char* what, moert_dtype dtype,
                   const std::vector<int64_t>& shape);

}  // namespace moert_cpu

// CpuMoe: the shared expert, passed with each forward.
#include <cmath>
#include <string>

#include "activation.h"
#include "engine_buffers.h"
#include "engine_util.h"
#include "moert/moert_plugin.hpp"

namespace moert_cpu {

// The shared expert's weights arrive with each forward (activation dtype,
// plain [out, in]), so they go through the streaming kernel in chunks of
// kSharedChunk tokens; nothing is cached between forwards.
void CpuMoe::run_shared(const moert_shared_expert* s, const float* x32, int64_t T, float* out32, Buffers& b) {
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, Is = s->intermediate_size;
  if (s->struct_size < offsetof(moert_shared_expert, gate) + sizeof(moert_tensor))
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "shared_expert: struct_size too small");
  if (s->activation == MOERT_ACT_SWIGLUOAI || s->activation < 0 || s->activation > MOERT_ACT_RELU2)
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "shared_expert.activation: not allowed (swigluoai or unknown)");
  if (Is <= 0 || Is > L_.shared_intermediate_max)
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT,
                      "shared_expert.intermediate_size " + std::to_string(Is) + " is outside [1, " +
                          std::to_string(L_.shared_intermediate_max) +
                          "]; raise the layer option shared_intermediate_size");
  const bool gated = activation_is_gated(s->activation);
  const int64_t Rs = gated ? 2 * Is : Is;
  expect_tensor(s->w13, "shared_expert.w13", D.activation_dtype, {Rs, H});
  expect_tensor(s->w2, "shared_expert.w2", D.activation_dtype, {H, Is});
  const bool has_gate = s->gate.data != nullptr;
  if (has_gate) expect_tensor(s->gate, "shared_expert.gate", D.activation_dtype, {H});
  const int32_t code = L_.bf16 ? kWeightBF16 : kWeightF32;
  RowMajorWeights w13{code, 0, ptr(s->w13), H, nullptr, 0, 0, 0, nullptr};
  RowMajorWeights w2{code, 0, ptr(s->w2), Is, nullptr, 0, 0, 0, nullptr};
  float* hs = b.shared;
  float* as = hs + kSharedChunk * 2 * L_.shared_intermediate_max;
  float* ys = as + kSharedChunk * L_.shared_intermediate_max;
  float* gate = ys + kSharedChunk * H;
  if (has_gate) to_f32(ptr(s->gate), D.activation_dtype, H, gate);
  ActivationParams ap{s->activation, 0, Is, 0.f, 0.f, L_.bf16 ? 1 : 0};
  for (int64_t t0 = 0; t0 < T; t0 += kSharedChunk) {
    const int64_t M = T - t0 < kSharedChunk ? T - t0 : kSharedChunk;
    const float* x = x32 + t0 * H;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < Rs; n += 16) isa_->gemv_nk(x, H, M, &w13, n, n + 16 < Rs ? n + 16 : Rs, hs, Rs);
    apply_activation(ap, hs, Rs, nullptr, M, 0, Is, as, Is);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < H; n += 16) isa_->gemv_nk(as, Is, M, &w2, n, n + 16 < H ? n + 16 : H, ys, H);
    for (int64_t m = 0; m < M; ++m) {
      float scale = 1.f;
      if (has_gate) {
        double dot = 0.0;
        for (int64_t c = 0; c < H; ++c) dot += double(x[m * H + c]) * gate[c];
        scale = static_cast<float>(1.0 / (1.0 + std::exp(-dot)));
      }
      float* o = out32 + (t0 + m) * H;
      for (int64_t c = 0; c < H; ++c) o[c] += scale * ys[m * H + c];
    }
  }
}

}  // namespace moert_cpu

// ReferenceExperts: the routed experts on the host, expert by expert, only
// for the (token, slot) pairs routed to a local expert.
#include <algorithm>
#include <string>

#include "moert/error.h"
#include "moert/quant.h"
#include "moert/reference.h"

namespace moert {

namespace {
// f64 accumulation in four lanes: accurate and still pipelined.
inline float dot(const float* a, const float* b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += static_cast<double>(a[i]) * b[i];
    s1 += static_cast<double>(a[i + 1]) * b[i + 1];
    s2 += static_cast<double>(a[i + 2]) * b[i + 2];
    s3 += static_cast<double>(a[i + 3]) * b[i + 3];
  }
  for (; i < n; ++i) s0 += static_cast<double>(a[i]) * b[i];
  return static_cast<float>((s0 + s1) + (s2 + s3));
}
}  // namespace

ReferenceExperts::ReferenceExperts(const LayerConfig& layer)
    : layer_(layer),
      counts_(static_cast<size_t>(layer.num_local_experts)),
      offsets_(static_cast<size_t>(layer.num_local_experts) + 1),
      slots_(static_cast<size_t>(layer.max_num_tokens * layer.top_k)),
      h_(static_cast<size_t>(layer.max_num_tokens * layer.w13_rows())),
      a_(static_cast<size_t>(layer.max_num_tokens * layer.intermediate_size)),
      row_(static_cast<size_t>(std::max(layer.hidden_size, layer.intermediate_size))) {}

void ReferenceExperts::compute(const float* x, int64_t T, const int32_t* ids, const float* wts,
                               const int32_t* expert_map, bool per_slot, float* out) {
  if (!weights_.loaded())
    throw Error(MOERT_STATUS_FAILED_PRECONDITION, "experts used before set_weights");
  if (T > layer_.max_num_tokens)
    throw Error("num_tokens=" + std::to_string(T) + " exceeds max_num_tokens=" +
                std::to_string(layer_.max_num_tokens));
  const int32_t K = layer_.top_k;
  const int64_t H = layer_.hidden_size, I = layer_.intermediate_size, R = layer_.w13_rows();
  const int32_t phys = layer_.num_physical();
  const int32_t EL = layer_.num_local_experts;
  const int32_t* map = expert_map ? expert_map : (layer_.expert_map.empty() ? nullptr : layer_.expert_map.data());

  // Group the slots by local expert (counting sort keeps token order).
  std::fill(counts_.begin(), counts_.end(), 0);
  for (int64_t s = 0; s < T * K; ++s) {
    const int32_t p = ids[s];
    if (p < 0 || p >= phys)
      throw Error("topk_ids[token " + std::to_string(s / K) + ", slot " + std::to_string(s % K) + "]=" +
                  std::to_string(p) + " is outside [0, physical experts=" + std::to_string(phys) + ")");
    const int32_t local = map ? map[p] : p;
    if (local < -1 || local >= EL)
      throw Error("expert_map[" + std::to_string(p) + "]=" + std::to_string(local) +
                  " is neither -1 nor a local index in [0, " + std::to_string(EL) + ")");
    if (local >= 0) ++counts_[static_cast<size_t>(local)];
    else if (per_slot) std::fill(out + s * H, out + (s + 1) * H, 0.0f);  // non-local: contributes 0
  }
  offsets_[0] = 0;
  for (int32_t e = 0; e < EL; ++e) offsets_[static_cast<size_t>(e) + 1] = offsets_[static_cast<size_t>(e)] + counts_[static_cast<size_t>(e)];
  std::fill(counts_.begin(), counts_.end(), 0);
  for (int64_t s = 0; s < T * K; ++s) {
    const int32_t local = map ? map[ids[s]] : ids[s];
    if (local < 0) continue;
    slots_[static_cast<size_t>(offsets_[static_cast<size_t>(local)] + counts_[static_cast<size_t>(local)]++)] =
        static_cast<int32_t>(s);
  }

  const QuantMatrix& w13 = weights_.w13;
  const QuantMatrix& w2 = weights_.w2;
  float* row = row_.data();
  // A token may (through custom routing) pick one expert twice, so an expert
  // can own more than max_num_tokens slots: work in chunks of that size.
  const int64_t chunk = layer_.max_num_tokens;
  for (int32_t e = 0; e < EL; ++e) {
    for (int64_t begin = offsets_[static_cast<size_t>(e)]; begin < offsets_[static_cast<size_t>(e) + 1]; begin += chunk) {
      const int64_t n = std::min<int64_t>(chunk, offsets_[static_cast<size_t>(e) + 1] - begin);
      const int32_t* slot = slots_.data() + begin;
      // First GEMM: h = w13[e] @ x (+ b13), one dequantized weight row at a time.
      for (int64_t r = 0; r < R; ++r) {
        w13.dequantize_row(e, r, row);
        const float b = w13.bias.empty() ? 0.0f : w13.bias[static_cast<size_t>(e * R + r)];
        for (int64_t i = 0; i < n; ++i) h_[static_cast<size_t>(i * R + r)] = dot(row, x + (slot[i] / K) * H, H) + b;
      }
      // Activation; the intermediate is stored in the activation dtype, as GPU kernels do.
      for (int64_t i = 0; i < n; ++i) {
        float* a = a_.data() + i * I;
        apply_activation(layer_.activation, layer_.gate_up_layout, layer_.swiglu_alpha, layer_.swiglu_limit,
                         h_.data() + i * R, I, a);
        for (int64_t j = 0; j < I; ++j) a[j] = round_to_dtype(a[j], layer_.activation_dtype);
      }
      // Second GEMM: y = w2[e] @ a (+ b2), written per slot or weighted into the token.
      for (int64_t hh = 0; hh < H; ++hh) {
        w2.dequantize_row(e, hh, row);
        const float b = w2.bias.empty() ? 0.0f : w2.bias[static_cast<size_t>(e * H + hh)];
        for (int64_t i = 0; i < n; ++i) {
          const float y = dot(row, a_.data() + i * I, I) + b;
          const int64_t s = slot[i];
          if (per_slot)
            out[s * H + hh] = y;
          else
            out[(s / K) * H + hh] += wts[s] * y;
        }
      }
    }
  }
}

}  // namespace moert

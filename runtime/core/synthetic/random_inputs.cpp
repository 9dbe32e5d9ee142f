// make_random_hidden / make_random_logits: seeded unit-variance inputs. Rows
// are drawn in order from one stream, so the first T rows for T tokens are
// the same for any larger token count (handy for chunking tests).
#include "moert/error.h"
#include "moert/quant.h"
#include "moert/synthetic.h"
#include "synthetic/rng.h"

namespace moert {

namespace {
constexpr uint64_t kHiddenStream = 0x100;
constexpr uint64_t kLogitsStream = 0x101;

void check_tokens(const LayerSpec& layer, int64_t tokens, const char* what) {
  if (tokens < 0)
    throw Error(std::string(what) + " for layer '" + layer.name + "': tokens must be >= 0, got " +
                std::to_string(tokens));
}
}  // namespace

HostTensor make_random_hidden(const LayerSpec& layer, int64_t tokens, uint64_t seed) {
  check_tokens(layer, tokens, "make_random_hidden");
  const moert_dtype dt = layer.desc.activation_dtype;
  if (!is_float_dtype(dt))
    throw Error("make_random_hidden: activation_dtype must be f32, bf16 or f16, got " + dtype_name(dt));
  const int64_t h = layer.desc.hidden_size;
  HostTensor x(dt, {tokens, h});
  synthetic::Rng rng(seed, kHiddenStream);
  std::vector<float> row(static_cast<size_t>(h));
  const size_t row_bytes = static_cast<size_t>(h) * (dt.bits / 8);
  for (int64_t t = 0; t < tokens; ++t) {
    for (auto& v : row) v = rng.unit();
    convert_from_f32(row.data(), h, dt, x.as<unsigned char>() + t * row_bytes);
  }
  return x;
}

HostTensor make_random_logits(const LayerSpec& layer, int64_t tokens, uint64_t seed) {
  check_tokens(layer, tokens, "make_random_logits");
  const int64_t e = layer.desc.num_experts;
  HostTensor logits(kF32, {tokens, e});
  synthetic::Rng rng(seed, kLogitsStream);
  float* p = logits.as<float>();
  for (int64_t k = 0; k < tokens * e; ++k) p[k] = rng.unit();
  return logits;
}

}  // namespace moert

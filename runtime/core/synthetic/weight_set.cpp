// WeightSet::view: the borrowed C view of a set of host weights.
#include "moert/synthetic.h"

namespace moert {

namespace {
moert_tensor view_or_absent(const HostTensor& t) { return t.empty() ? absent_tensor() : t.view(); }
}  // namespace

moert_expert_weights WeightSet::view() const {
  moert_expert_weights w{};
  w.struct_size = sizeof(moert_expert_weights);
  w.w13 = view_or_absent(w13);
  w.w2 = view_or_absent(w2);
  w.w13_scale = view_or_absent(w13_scale);
  w.w2_scale = view_or_absent(w2_scale);
  w.w13_bias = view_or_absent(w13_bias);
  w.w2_bias = view_or_absent(w2_bias);
  w.score_correction_bias = view_or_absent(score_correction_bias);
  return w;
}

}  // namespace moert

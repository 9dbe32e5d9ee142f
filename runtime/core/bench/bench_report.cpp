// Bench reports: JSON in the shape bench/peer_moe.py's rows use, and a table.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/json.h"
#include "moert/bench.h"

namespace moert {

std::string describe_device(const Runner& runner) {
  const moert_plugin_api* api = runner.device_api();
  std::string out = api && api->name ? api->name : "?";
  if (api && api->attributes) {
    size_t n = 0;
    const moert_kv* kv = api->attributes(&n);
    for (size_t i = 0; kv && i < n; ++i)
      if (kv[i].key && kv[i].value && std::strcmp(kv[i].key, "device_runtime") == 0)
        out += std::string(" ") + kv[i].value;
  }
  return out + " device " + std::to_string(runner.device_id());
}

std::string bench_json(const std::vector<BenchRow>& rows, const std::string& device, const std::string& runner) {
  using json::Value;
  Value root = Value::object();
  root.set("bench", Value::string("moert"));
  root.set("device", Value::string(device));
  root.set("runner", Value::string(runner));
  Value list = Value::array();
  for (const auto& r : rows) {
    Value o = Value::object();
    o.set("shape", Value::string(r.shape));
    o.set("tokens", Value::integer(r.tokens));
    o.set("moert_us", Value::number(r.eager_us_median));
    o.set("moert_graph_us", Value::number(r.graph_us_median));  // NaN -> null
    o.set("gbps", Value::number(r.gbps));
    o.set("tflops", Value::number(r.tflops));
    o.set("timer", Value::string(r.timer));
    o.set("routing", Value::string(r.routing));
    if (!r.order.empty()) o.set("order", Value::string(r.order));
    o.set("pause_ms", Value::integer(r.pause_ms));
    o.set("experts_touched", Value::number(r.experts_touched));
    o.set("weight_bytes_touched", Value::number(r.weight_bytes_touched));
    o.set("activation_bytes", Value::number(r.activation_bytes));
    o.set("flops", Value::number(r.flops));
    if (!r.graph_note.empty()) o.set("graph_note", Value::string(r.graph_note));
    list.push(std::move(o));
  }
  root.set("rows", std::move(list));
  return json::write(root, 1) + "\n";
}

std::string bench_table(const std::vector<BenchRow>& rows) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %7s %12s %12s %9s %10s %9s\n", "shape", "tokens", "eager_us", "graph_us",
                "experts", "GB/s", "TFLOP/s");
  out += line;
  for (const auto& r : rows) {
    char graph[32];
    if (std::isnan(r.graph_us_median))
      std::snprintf(graph, sizeof graph, "%12s", "-");
    else
      std::snprintf(graph, sizeof graph, "%12.1f", r.graph_us_median);
    std::snprintf(line, sizeof line, "%-10s %7lld %12.1f %s %9.2f %10.1f %9.3f\n", r.shape.c_str(),
                  static_cast<long long>(r.tokens), r.eager_us_median, graph, r.experts_touched, r.gbps, r.tflops);
    out += line;
  }
  return out;
}

}  // namespace moert

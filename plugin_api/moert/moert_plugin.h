/*
 * moert_plugin.h -- the moert plugin ABI: one self-contained C99 header.
 *
 * A moert plugin is a shared object that exports one C function,
 * `moert_plugin_entry_v1` (see MOERT_PLUGIN_ENTRY_SYMBOL). The host calls it
 * once, checks the returned table and then drives the plugin only through that
 * table. No C++ type, exception or allocator crosses this boundary.
 *
 * Versioning (docs/abi.md, plugin_api/CHANGELOG.md):
 *   - MOERT_ABI_MAJOR changes only on a break. A host loads a plugin only when
 *     the majors are equal.
 *   - MOERT_ABI_MINOR grows on every append. Structs only ever grow at their
 *     end; every struct starts with `struct_size`, which its producer sets to
 *     sizeof() of the struct as it was compiled. A reader touches only the
 *     fields that lie inside `struct_size` (MOERT_HAS_FIELD).
 *   - A host loads a plugin whose minor lies in
 *     [MOERT_ABI_MIN_COMPATIBLE_MINOR, MOERT_ABI_MINOR]. A plugin newer than the
 *     host (minor above the host's) is refused, because it may rely on fields
 *     the host does not fill.
 *
 * Ownership convention, stated again on each call:
 *   - "borrowed for the call": the callee may read it only until it returns.
 *   - "owned by the plugin": valid until the named destroy call or shutdown.
 *   - "caller owns": the receiver frees it with the named function.
 *
 * Errors: every fallible call returns `moert_error*`. NULL means success. A
 * non-NULL error was allocated by the plugin; the host reads it with
 * error_code/error_message and frees it with error_destroy of the same table.
 * MOERT_STATUS_UNIMPLEMENTED is an ordinary answer, never a crash.
 *
 * Threading: calls on one runner/experts instance must not overlap. Separate
 * instances may be used from separate threads at the same time. Table-level
 * calls (probe, attributes, memory and stream calls) are thread-safe after
 * initialize returned and before shutdown is called.
 */
#ifndef MOERT_PLUGIN_H_
#define MOERT_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Versions and the entry symbol                                       */
/* ------------------------------------------------------------------ */

#define MOERT_ABI_MAJOR 1
#define MOERT_ABI_MINOR 1
/* The oldest minor of this major that a host built from this header loads. */
#define MOERT_ABI_MIN_COMPATIBLE_MINOR 0

#define MOERT_PLUGIN_ENTRY_SYMBOL "moert_plugin_entry_v1"

#if defined(__GNUC__) || defined(__clang__)
#define MOERT_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define MOERT_PLUGIN_EXPORT
#endif

/* True when a struct received from the other side carries `field`. */
#define MOERT_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

typedef enum moert_status {
  MOERT_STATUS_OK = 0,
  MOERT_STATUS_INVALID_ARGUMENT = 1, /* bad shape, dtype, pointer or value */
  MOERT_STATUS_UNIMPLEMENTED = 2,    /* a valid request this plugin does not do */
  MOERT_STATUS_UNAVAILABLE = 3,      /* no device, no driver */
  MOERT_STATUS_OUT_OF_MEMORY = 4,
  MOERT_STATUS_FAILED_PRECONDITION = 5, /* e.g. forward before set_weights */
  MOERT_STATUS_INTERNAL = 6
} moert_status;

/* Opaque; allocated by the plugin, freed by the host via error_destroy. */
typedef struct moert_error moert_error;

/* ------------------------------------------------------------------ */
/* Tensors: the layout of DLPack's DLTensor (DLPack 1.1 type codes)    */
/* ------------------------------------------------------------------ */

/* DLPack DLDeviceType values. */
typedef enum moert_device_type {
  MOERT_DEVICE_CPU = 1,
  MOERT_DEVICE_CUDA = 2,
  MOERT_DEVICE_CUDA_HOST = 3,
  MOERT_DEVICE_ROCM = 10,
  MOERT_DEVICE_ROCM_HOST = 11
} moert_device_type;

/* DLPack DLDataTypeCode values (DLPack 1.1). */
typedef enum moert_dtype_code {
  MOERT_DTYPE_INT = 0,
  MOERT_DTYPE_UINT = 1,
  MOERT_DTYPE_FLOAT = 2,
  MOERT_DTYPE_BFLOAT = 4,
  MOERT_DTYPE_FLOAT8_E4M3FN = 10,
  MOERT_DTYPE_FLOAT8_E5M2 = 12,
  MOERT_DTYPE_FLOAT8_E8M0FNU = 14,
  MOERT_DTYPE_FLOAT4_E2M1FN = 17 /* bits = 4; packed two per byte, low nibble = even element */
} moert_dtype_code;

/* Same layout as DLDevice. */
typedef struct moert_device {
  int32_t device_type; /* moert_device_type */
  int32_t device_id;
} moert_device;

/* Same layout as DLDataType. */
typedef struct moert_dtype {
  uint8_t code; /* moert_dtype_code */
  uint8_t bits;
  uint16_t lanes; /* always 1 in moert */
} moert_dtype;

/*
 * Same layout as DLTensor. Shapes count logical elements; for 4-bit types the
 * innermost dimension is packed two per byte (it must be even). `strides` may
 * be NULL for a compact row-major tensor; moert only passes compact tensors.
 * A tensor whose `data` is NULL is "absent" where a field is optional.
 * A moert_tensor never owns its memory: whoever filled it owns data and shape.
 */
typedef struct moert_tensor {
  void* data;
  moert_device device;
  int32_t ndim;
  moert_dtype dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
} moert_tensor;

/* Opaque stream: cudaStream_t / hipStream_t for GPU plugins, NULL on CPU. */
typedef void* moert_stream;

/* A key/value pair of strings. Ownership is stated where it is used. */
typedef struct moert_kv {
  const char* key;
  const char* value;
} moert_kv;

/* ------------------------------------------------------------------ */
/* The MoE layer description                                           */
/* ------------------------------------------------------------------ */

typedef enum moert_activation {
  MOERT_ACT_SILU_AND_MUL = 0,      /* silu(gate) * up */
  MOERT_ACT_GELU_AND_MUL = 1,      /* gelu_erf(gate) * up */
  MOERT_ACT_GELU_TANH_AND_MUL = 2, /* gelu_tanh(gate) * up */
  MOERT_ACT_SWIGLUOAI = 3,         /* gpt-oss: clamp, g*sigmoid(alpha*g)*(u+1) */
  MOERT_ACT_SILU = 4,              /* no-mul variants: w13 has I rows, not 2I */
  MOERT_ACT_GELU = 5,
  MOERT_ACT_RELU2 = 6              /* relu(x)^2 */
} moert_activation;

/* How the 2I rows of w13 hold gate and up. */
typedef enum moert_gate_up_layout {
  MOERT_GATE_UP_CONCAT = 0,     /* rows [0, I) gate, [I, 2I) up (vLLM w13) */
  MOERT_GATE_UP_INTERLEAVED = 1 /* even rows gate, odd rows up (gpt-oss) */
} moert_gate_up_layout;

typedef enum moert_routing_method {
  MOERT_ROUTING_TOPK = 0,         /* scoring over all experts, top-k */
  MOERT_ROUTING_GROUPED_TOPK = 1, /* DeepSeek-V3 grouped top-k */
  MOERT_ROUTING_CUSTOM = 2        /* layer->custom_routing (ABI 1.1) */
} moert_routing_method;

typedef enum moert_scoring {
  MOERT_SCORING_SOFTMAX = 0,
  MOERT_SCORING_SIGMOID = 1
} moert_scoring;

typedef enum moert_quant_scheme {
  MOERT_QUANT_NONE = 0,            /* weights in weight_dtype (f32/bf16/f16) */
  MOERT_QUANT_FP8_PER_TENSOR = 1,  /* e4m3 weights, one f32 scale per expert matrix */
  MOERT_QUANT_FP8_PER_CHANNEL = 2, /* one f32 scale per output row */
  MOERT_QUANT_FP8_BLOCK_128 = 3,   /* one f32 scale per 128x128 block */
  MOERT_QUANT_MXFP4 = 4            /* OCP MX: e2m1 values, e8m0 scale per 32 along K */
} moert_quant_scheme;

typedef enum moert_act_quant {
  MOERT_ACT_QUANT_NONE = 0,          /* activations stay in activation_dtype */
  MOERT_ACT_QUANT_FP8_PER_TOKEN = 1  /* prepare quantizes to e4m3 with a scale per token */
} moert_act_quant;

struct moert_layer_desc;

/*
 * Custom routing (ABI 1.1). Called by a runner during forward, on the runner's
 * device and stream. Inputs are borrowed for the call; the function writes
 * topk_weights [T, top_k] f32 and topk_ids [T, top_k] int32 (global logical
 * expert ids), both allocated by the caller.
 * Returns NULL on success. Any non-NULL return means failure and stays owned
 * by the function's author (the host that set it): the runner never reads or
 * frees it; it fails the forward with MOERT_STATUS_INVALID_ARGUMENT and a
 * message saying the custom routing function failed. The host keeps the
 * details (e.g. in `context`) and frees its own object.
 */
typedef moert_error* (*moert_custom_routing_fn)(void* context, const moert_tensor* router_logits,
                                                int32_t top_k, moert_tensor* topk_weights,
                                                moert_tensor* topk_ids, moert_stream stream);

/*
 * One MoE layer. Filled by the host; borrowed by the plugin for the duration of
 * each call that takes it (the plugin copies what it keeps, expert_map and
 * options included).
 */
typedef struct moert_layer_desc {
  size_t struct_size;

  /* --- shape --- */
  int32_t num_experts;       /* global logical experts E */
  int32_t top_k;
  int64_t hidden_size;       /* H */
  int64_t intermediate_size; /* I, per expert */

  /* --- activation --- */
  int32_t activation;      /* moert_activation */
  int32_t gate_up_layout;  /* moert_gate_up_layout */
  int32_t has_bias;        /* 1: w13_bias and w2_bias are given */
  float swiglu_alpha;      /* swigluoai: 1.702 in gpt-oss */
  float swiglu_limit;      /* swigluoai: 7.0 in gpt-oss */

  /* --- routing --- */
  int32_t routing_method;  /* moert_routing_method */
  int32_t scoring;         /* moert_scoring */
  int32_t renormalize;     /* 1: top-k weights divided by their sum */
  int32_t num_expert_group;/* grouped top-k only */
  int32_t topk_group;      /* grouped top-k only */
  int32_t has_score_correction_bias; /* grouped top-k: weights.score_correction_bias given */
  float routed_scaling_factor;       /* multiplies the final top-k weights; 1.0 = none */

  /* --- numerics --- */
  moert_dtype activation_dtype; /* hidden states and output: f32, bf16, f16 */
  moert_dtype weight_dtype;     /* f32/bf16/f16, float8_e4m3fn or float4_e2m1fn */
  int32_t quant_scheme;         /* moert_quant_scheme */
  int32_t activation_quant;     /* moert_act_quant */

  /* --- sizes and parallelism --- */
  int64_t max_num_tokens;       /* the most tokens one forward receives */
  int32_t ep_rank;
  int32_t ep_size;
  int32_t num_local_experts;    /* experts whose weights this instance holds */
  int32_t reserved0;
  /* [num_experts (+ num_redundant_experts)] int32: global (physical) id ->
     local index, or -1 when not local. NULL: every expert is local, identity. */
  const int32_t* expert_map;

  /* --- backend options --- */
  const moert_kv* options; /* [num_options]; strings borrowed for the call */
  int64_t num_options;

  /* ===== ABI 1.1 ===== */
  moert_custom_routing_fn custom_routing; /* MOERT_ROUTING_CUSTOM */
  void* custom_routing_context;           /* passed back as `context`; host-owned */
  int32_t num_redundant_experts;          /* EPLB: physical = num_experts + this */
  int32_t reserved1;
} moert_layer_desc;

/* ------------------------------------------------------------------ */
/* Weights, shared experts, EPLB                                      */
/* ------------------------------------------------------------------ */

/*
 * The routed experts' weights, row-major [out, in] per expert, for the
 * num_local_experts local experts in local-index order. Borrowed for the call
 * of set_weights: the plugin copies (and may repack or shuffle) what it keeps.
 * Tensors may live on the host (MOERT_DEVICE_CPU) or on the plugin's device.
 *
 *   w13  [E_local, R, H]  R = 2I for gated activations, I otherwise
 *   w2   [E_local, H, I]
 *   scales, by quant_scheme (f32 unless said):
 *     FP8_PER_TENSOR   w13_scale [E_local]         w2_scale [E_local]
 *     FP8_PER_CHANNEL  w13_scale [E_local, R]      w2_scale [E_local, H]
 *     FP8_BLOCK_128    w13_scale [E_local, ceil(R/128), ceil(H/128)]
 *                      w2_scale  [E_local, ceil(H/128), ceil(I/128)]
 *     MXFP4 (e8m0)     w13_scale [E_local, R, H/32] w2_scale [E_local, H, I/32]
 *   biases (has_bias), f32: w13_bias [E_local, R], w2_bias [E_local, H]
 *   score_correction_bias (grouped top-k), f32: [E]
 */
typedef struct moert_expert_weights {
  size_t struct_size;
  moert_tensor w13;
  moert_tensor w2;
  moert_tensor w13_scale;
  moert_tensor w2_scale;
  moert_tensor w13_bias;
  moert_tensor w2_bias;
  moert_tensor score_correction_bias;
} moert_expert_weights;

/*
 * A shared expert, passed to each forward as a parameter (never stored by the
 * plugin). Its input is the forward's hidden_states; its output is added to
 * the routed output. Tensors are in activation_dtype on the plugin's device,
 * borrowed for the forward (until the stream reaches the end of it).
 *   w13 [R_s, H] (R_s = 2*intermediate_size for gated activations), w2 [H, I_s]
 *   gate (optional) [H]: output_shared *= sigmoid(dot(x, gate)) (Qwen2-MoE)
 */
typedef struct moert_shared_expert {
  size_t struct_size;
  int64_t intermediate_size;
  int32_t activation; /* moert_activation (swigluoai not allowed here) */
  int32_t reserved0;
  moert_tensor w13;
  moert_tensor w2;
  moert_tensor gate;
} moert_shared_expert;

/*
 * EPLB state (ABI 1.1): optional; NULL means no EPLB. Host-owned device
 * tensors, borrowed for the forward. A token's flat slot position p = t*top_k+k
 * for logical expert e picks replica r = p % logical_replica_count[e], and the
 * physical expert logical_to_physical_map[e, r]. When expert_load.data is not
 * NULL, the forward adds 1 to expert_load[physical] for each routed slot.
 */
typedef struct moert_eplb_state {
  size_t struct_size;
  moert_tensor logical_to_physical_map; /* [E, max_replicas] int32, -1 padded */
  moert_tensor logical_replica_count;   /* [E] int32, >= 1 */
  moert_tensor expert_load;             /* [E_physical] int64, optional */
} moert_eplb_state;

/* ------------------------------------------------------------------ */
/* Runners: the whole layer                                            */
/* ------------------------------------------------------------------ */

typedef struct moert_runner moert_runner; /* opaque, plugin-owned */

/*
 * One forward. All tensors live on the plugin's device (CPU plugins: host)
 * and are borrowed until the stream reaches the end of the forward.
 *   hidden_states [T, H] activation_dtype, T <= layer.max_num_tokens (T may be 0)
 *   router_logits [T, E] f32, bf16 or f16
 *   output        [T, H] activation_dtype, written entirely
 *   workspace     [bytes] uint8, bytes >= workspace_size(max_num_tokens)
 */
typedef struct moert_forward_args {
  size_t struct_size;
  moert_tensor hidden_states;
  moert_tensor router_logits;
  moert_tensor output;
  moert_tensor workspace;
  moert_stream stream;
  const moert_shared_expert* shared_expert; /* NULL: none */
  /* ===== ABI 1.1 ===== */
  const moert_eplb_state* eplb; /* NULL: no EPLB */
} moert_forward_args;

typedef struct moert_runner_ops {
  size_t struct_size;
  /* Registered name, e.g. "cuda". "default" replaces the core's default
     runner. Owned by the plugin, valid until the library is unloaded. */
  const char* name;

  /* NULL when this runner can run `layer`; otherwise an error (usually
     UNIMPLEMENTED) whose message gives the reason. layer is borrowed. */
  moert_error* (*can_implement)(const moert_layer_desc* layer);

  /* Creates an instance on device `device_id`. layer is borrowed for the
     call. On success *out is owned by the caller, freed with destroy. */
  moert_error* (*create)(const moert_layer_desc* layer, int32_t device_id, moert_runner** out);

  /* Frees an instance and all it holds; NULL is a no-op. Outstanding work
     on the instance's streams must have finished. */
  void (*destroy)(moert_runner* runner);

  /* Workspace bytes for forwards of up to max_num_tokens tokens. */
  moert_error* (*workspace_size)(moert_runner* runner, int64_t max_num_tokens, size_t* out_bytes);

  /* The weights post-processing hook: called once after loading. The plugin
     copies, repacks or shuffles into memory it owns; weights are borrowed for
     the call. Blocking. May be called again to replace the weights. */
  moert_error* (*set_weights)(moert_runner* runner, const moert_expert_weights* weights);

  /* Enqueues one forward on args->stream. Must not allocate or synchronize
     the host in GPU plugins. args are borrowed for the call; the tensors they
     point to until the stream completes the work. */
  moert_error* (*forward)(moert_runner* runner, const moert_forward_args* args);
} moert_runner_ops;

/* ------------------------------------------------------------------ */
/* Experts kernels: the stage inside the core's modular runner        */
/* ------------------------------------------------------------------ */

typedef struct moert_experts moert_experts; /* opaque, plugin-owned */

typedef enum moert_finalize_mode {
  /* apply writes output [T, H] = sum_k w[t,k] * expert_{id[t,k]}(x_t) */
  MOERT_FINALIZE_IN_KERNEL = 0,
  /* apply writes output [T, top_k, H] f32 unweighted per-slot results (zero
     for non-local slots); the core weights and reduces */
  MOERT_FINALIZE_BY_CORE = 1
} moert_finalize_mode;

/*
 * Arguments of experts->apply. Tensors on the plugin's device, borrowed until
 * the stream completes the call.
 *   hidden_states [T, H]: activation_dtype, or float8_e4m3fn when the layer's
 *                 activation_quant is FP8_PER_TOKEN (then hidden_scale [T] f32)
 *   topk_ids      [T, top_k] int32: global physical expert ids
 *   topk_weights  [T, top_k] f32
 *   expert_map    [E_physical] int32 global -> local or -1; data NULL = identity
 *   output        see moert_finalize_mode
 */
typedef struct moert_experts_args {
  size_t struct_size;
  moert_tensor hidden_states;
  moert_tensor hidden_scale;
  moert_tensor topk_ids;
  moert_tensor topk_weights;
  moert_tensor expert_map;
  moert_tensor output;
  moert_tensor workspace;
  moert_stream stream;
  int32_t apply_router_weight_on_input; /* 1: weights already multiplied into x; do not weight */
  int32_t reserved0;
} moert_experts_args;

typedef struct moert_experts_ops {
  size_t struct_size;
  const char* name;         /* owned by the plugin, valid until unload */
  int32_t finalize_mode;    /* moert_finalize_mode */
  int32_t reserved0;
  /* Same contracts as the runner calls of the same names. */
  moert_error* (*can_implement)(const moert_layer_desc* layer);
  moert_error* (*create)(const moert_layer_desc* layer, int32_t device_id, moert_experts** out);
  void (*destroy)(moert_experts* experts);
  moert_error* (*workspace_size)(moert_experts* experts, int64_t max_num_tokens, size_t* out_bytes);
  moert_error* (*set_weights)(moert_experts* experts, const moert_expert_weights* weights);
  moert_error* (*apply)(moert_experts* experts, const moert_experts_args* args);
} moert_experts_ops;

/* ------------------------------------------------------------------ */
/* Host services: what the host offers the plugin                      */
/* ------------------------------------------------------------------ */

typedef enum moert_log_level {
  MOERT_LOG_DEBUG = 0,
  MOERT_LOG_INFO = 1,
  MOERT_LOG_WARNING = 2,
  MOERT_LOG_ERROR = 3
} moert_log_level;

/* Owned by the host; valid from the entry call until shutdown returns. */
typedef struct moert_host_services {
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  void* host_context; /* pass back unchanged */
  /* message is borrowed for the call; thread-safe */
  void (*log)(void* host_context, int32_t level, const char* plugin_name, const char* message);
} moert_host_services;

/* ------------------------------------------------------------------ */
/* The plugin table                                                    */
/* ------------------------------------------------------------------ */

typedef struct moert_plugin_api {
  size_t struct_size;
  uint32_t abi_major; /* MOERT_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor; /* MOERT_ABI_MINOR the plugin was built with */

  /* Static strings owned by the plugin, valid until unload. */
  const char* name;    /* plugin name, e.g. "cuda" */
  const char* version; /* plugin's own version, e.g. "0.3.1" */
  const char* vendor;
  int32_t device_type; /* moert_device_type it drives */
  int32_t reserved0;

  /* Says whether this machine can run the plugin, without crashing when it
     cannot (no driver, no device, missing ISA). Returns 1 when usable; else 0
     and writes a NUL-terminated reason into the caller's buffer. Called before
     initialize; must not run ISA-specific code the machine may lack. */
  int32_t (*probe)(char* reason, size_t reason_capacity);

  /* Called once after a successful probe. services are owned by the host and
     valid until shutdown returns. */
  moert_error* (*initialize)(const moert_host_services* services);

  /* Drains outstanding work and frees plugin-global state. Called once,
     explicitly (never from a static destructor); after it only the error
     calls below may be used, and only on errors it returned. */
  moert_error* (*shutdown)(void);

  /* The error-object protocol. message is owned by the error. */
  int32_t (*error_code)(const moert_error* error); /* moert_status */
  const char* (*error_message)(const moert_error* error);
  void (*error_destroy)(moert_error* error); /* NULL is a no-op */

  /* Capability attributes: keys such as "dtypes", "activations", "routers",
     "quant_schemes", "toolchain". The array and its strings are owned by the
     plugin and valid until shutdown. *count receives the length. */
  const moert_kv* (*attributes)(size_t* count);

  /* Device memory and streams, so that a host or test harness can drive the
     plugin's device without linking its runtime. CPU plugins implement these
     on host memory with NULL streams. Copies are blocking. */
  moert_error* (*device_alloc)(int32_t device_id, size_t bytes, void** out); /* caller owns; device_free */
  moert_error* (*device_free)(int32_t device_id, void* ptr);
  moert_error* (*copy_host_to_device)(int32_t device_id, void* dst, const void* src, size_t bytes);
  moert_error* (*copy_device_to_host)(int32_t device_id, void* dst, const void* src, size_t bytes);
  moert_error* (*stream_create)(int32_t device_id, moert_stream* out); /* caller owns; stream_destroy */
  moert_error* (*stream_destroy)(int32_t device_id, moert_stream stream);
  moert_error* (*stream_synchronize)(int32_t device_id, moert_stream stream);

  /* What the plugin registers. Arrays and entries owned by the plugin,
     valid until unload. */
  int64_t num_runners;
  const moert_runner_ops* const* runners;
  int64_t num_experts;
  const moert_experts_ops* const* experts;

  /* ===== ABI 1.1: optional device timing and graph replay =====
     Each may be NULL (check with MOERT_HAS_FIELD and for NULL). They let a
     host benchmark any GPU plugin with device events and replay a captured
     forward (CUDA/HIP graphs) without linking the device runtime itself.
     Events and graphs are owned by the caller and freed with the matching
     destroy call. */
  moert_error* (*event_create)(int32_t device_id, void** out_event);
  moert_error* (*event_destroy)(int32_t device_id, void* event);
  moert_error* (*event_record)(int32_t device_id, void* event, moert_stream stream);
  /* Blocks until `end` completed; writes milliseconds from start to end. */
  moert_error* (*event_elapsed_ms)(int32_t device_id, void* start, void* end, float* out_ms);
  /* Starts capturing the work enqueued on `stream` (forwards included). */
  moert_error* (*graph_capture_begin)(int32_t device_id, moert_stream stream);
  /* Ends the capture; *out_graph is an instantiated, launchable graph. */
  moert_error* (*graph_capture_end)(int32_t device_id, moert_stream stream, void** out_graph);
  moert_error* (*graph_launch)(int32_t device_id, void* graph, moert_stream stream);
  moert_error* (*graph_destroy)(int32_t device_id, void* graph);
} moert_plugin_api;

/*
 * The one exported entry point. host_services is owned by the host and valid
 * until shutdown returns. Returns a table owned by the plugin (static storage),
 * or NULL when the plugin cannot speak to this host at all. The entry must not
 * allocate device resources or run ISA-specific code.
 */
typedef const moert_plugin_api* (*moert_plugin_entry_fn)(uint32_t host_abi_major,
                                                         uint32_t host_abi_minor,
                                                         const moert_host_services* host_services);

/* ------------------------------------------------------------------ */
/* Frozen layout: a reorder or insertion fails the build.              */
/* ------------------------------------------------------------------ */

#if defined(__cplusplus)
#define MOERT_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define MOERT_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
MOERT_STATIC_ASSERT(offsetof(moert_tensor, data) == 0, "DLTensor.data");
MOERT_STATIC_ASSERT(offsetof(moert_tensor, device) == 8, "DLTensor.device");
MOERT_STATIC_ASSERT(offsetof(moert_tensor, ndim) == 16, "DLTensor.ndim");
MOERT_STATIC_ASSERT(offsetof(moert_tensor, dtype) == 20, "DLTensor.dtype");
MOERT_STATIC_ASSERT(offsetof(moert_tensor, shape) == 24, "DLTensor.shape");
MOERT_STATIC_ASSERT(offsetof(moert_tensor, strides) == 32, "DLTensor.strides");
MOERT_STATIC_ASSERT(offsetof(moert_tensor, byte_offset) == 40, "DLTensor.byte_offset");
MOERT_STATIC_ASSERT(sizeof(moert_tensor) == 48, "DLTensor size");

MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, num_experts) == 8, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, hidden_size) == 16, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, activation) == 32, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, routing_method) == 52, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, activation_dtype) == 80, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, max_num_tokens) == 96, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, expert_map) == 120, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, options) == 128, "layer_desc");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, custom_routing) == 144, "layer_desc 1.1");
MOERT_STATIC_ASSERT(offsetof(moert_layer_desc, num_redundant_experts) == 160, "layer_desc 1.1");
MOERT_STATIC_ASSERT(sizeof(moert_layer_desc) == 168, "layer_desc size 1.1");

MOERT_STATIC_ASSERT(offsetof(moert_expert_weights, w13) == 8, "weights");
MOERT_STATIC_ASSERT(offsetof(moert_expert_weights, score_correction_bias) == 296, "weights");
MOERT_STATIC_ASSERT(offsetof(moert_shared_expert, w13) == 24, "shared_expert");
MOERT_STATIC_ASSERT(offsetof(moert_eplb_state, expert_load) == 104, "eplb");

MOERT_STATIC_ASSERT(offsetof(moert_forward_args, hidden_states) == 8, "forward_args");
MOERT_STATIC_ASSERT(offsetof(moert_forward_args, stream) == 200, "forward_args");
MOERT_STATIC_ASSERT(offsetof(moert_forward_args, shared_expert) == 208, "forward_args");
MOERT_STATIC_ASSERT(offsetof(moert_forward_args, eplb) == 216, "forward_args 1.1");

MOERT_STATIC_ASSERT(offsetof(moert_runner_ops, name) == 8, "runner_ops");
MOERT_STATIC_ASSERT(offsetof(moert_runner_ops, forward) == 56, "runner_ops");
MOERT_STATIC_ASSERT(offsetof(moert_experts_ops, can_implement) == 24, "experts_ops");
MOERT_STATIC_ASSERT(offsetof(moert_experts_ops, apply) == 64, "experts_ops");
MOERT_STATIC_ASSERT(offsetof(moert_experts_args, stream) == 344, "experts_args");

MOERT_STATIC_ASSERT(offsetof(moert_host_services, log) == 24, "host_services");

MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, abi_major) == 8, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, name) == 16, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, device_type) == 40, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, probe) == 48, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, error_code) == 72, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, attributes) == 96, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, device_alloc) == 104, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, stream_synchronize) == 152, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, num_runners) == 160, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, experts) == 184, "plugin_api");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, event_create) == 192, "plugin_api 1.1");
MOERT_STATIC_ASSERT(offsetof(moert_plugin_api, graph_destroy) == 248, "plugin_api 1.1");
MOERT_STATIC_ASSERT(sizeof(moert_plugin_api) == 256, "plugin_api size 1.1");
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOERT_PLUGIN_H_ */

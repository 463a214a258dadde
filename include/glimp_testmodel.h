/* glimp_testmodel.h - test models for libglimp: small GGUF models with
 * seeded random (or given) weights, in the layout of files converted from
 * Hugging Face checkpoints, for tests, benchmarks and `glimp mkmodel`.
 * Builds on glimp.h (errors, tensor types). */
#ifndef GLIMP_TESTMODEL_H
#define GLIMP_TESTMODEL_H

#include "glimp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mixes of tensor types as llama.cpp's llama-quantize makes them (values:
 * its llama_ftype, written as general.file_type). Under a mix each 2-D
 * weight gets the type llama-quantize would give it from an F16 file:
 * token_embd (when tied) and output Q6_K, attn_v and ffn_down Q6_K in the
 * "more bits" layers, the rest Q4_K (Q5_K); a row length that is not a
 * multiple of 256 falls back as llama.cpp does (Q4_K -> Q5_0, Q5_K -> Q5_1,
 * Q6_K -> Q8_0; output and a tied token_embd straight to Q8_0). */
enum glimp_testmodel_mix {
    GLIMP_MIX_NONE = 0,    /* every 2-D weight has weight_type */
    GLIMP_MIX_Q4_K_M = 15, /* LLAMA_FTYPE_MOSTLY_Q4_K_M */
    GLIMP_MIX_Q5_K_M = 17, /* LLAMA_FTYPE_MOSTLY_Q5_K_M */
};

/* A GGUF model with seeded random weights, laid out with the metadata keys
 * and tensor names of files converted from Hugging Face checkpoints, so the
 * loader that reads these also reads real downloads. */
struct glimp_testmodel_params {
    const char *arch; /* "qwen3", "qwen2" or "llama" */
    uint32_t n_layer;
    uint32_t n_embd;
    uint32_t n_head;
    uint32_t n_head_kv;
    uint32_t head_dim; /* 0: n_embd / n_head */
    uint32_t n_ff;
    uint32_t n_ctx;
    float rope_base;
    float rms_eps;
    bool tied_output;     /* no output.weight; token_embd serves */
    uint32_t weight_type; /* enum glimp_type for 2-D weights; 1-D stay F32 */
    uint32_t mix;         /* enum glimp_testmodel_mix; not NONE: weight_type is
                             ignored and rows must be multiples of 32 */
    uint64_t seed;
    /* Vocabulary: a Hugging Face tokenizer.json (+ tokenizer_config.json for
     * special tokens and the chat template), or both NULL for the small
     * built-in byte-level one. */
    const char *tokenizer_json;
    const char *tokenizer_config_json;
    const char *name; /* general.name; NULL: "glimp test model" */
    /* NULL: seeded random weights. Otherwise a folder holding every tensor
     * as <gguf tensor name>.f32 (raw little-endian float32, ggml's layout:
     * rows of ne0 values, so an (n_in -> n_out) weight is n_out rows of
     * n_in); each file's size must match the tensor's shape exactly. The
     * values are then converted to weight_type (or the mix) as random ones
     * would be; seed is unused. Only read during glimp_testmodel_write. */
    const char *weights_dir;
};

/* Defaults: a tiny qwen3 (2 layers, 64 wide, 4 heads, 2 KV heads, F32, seed 1). */
GLIMP_API struct glimp_testmodel_params glimp_testmodel_default_params(void);

/* Write the model as a GGUF file at path. */
GLIMP_API int glimp_testmodel_write(const struct glimp_testmodel_params *p, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* GLIMP_TESTMODEL_H */

/* glimp.h - the public interface of libglimp: inference and routing.
 *
 * glimp pairs a small and a large reasoning model and routes each reasoning
 * step by the small model's first-token entropy. This header holds errors,
 * tensor types, GGUF files, the tokenizer, chat templates, models and
 * sequences, sampling, backends and the router. Two more headers build on
 * it: glimp_eval.h (benchmark problems, methods, the eval run and its
 * report) and glimp_testmodel.h (GGUF models with seeded random weights).
 * The library never prints or exits; every failure returns a negative
 * glimp_err code and leaves a detailed message in glimp_last_error(). */
#ifndef GLIMP_H
#define GLIMP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------- version and export */

/* The library's version; CMakeLists.txt's project(VERSION) must match (the
 * configure step checks). */
#define GLIMP_VERSION_MAJOR 0
#define GLIMP_VERSION_MINOR 1
#define GLIMP_VERSION_PATCH 0
#define GLIMP_VERSION_STRING "0.1.0"

/* Marks the functions a shared libglimp exports. */
#if defined(__GNUC__) || defined(__clang__)
#define GLIMP_API __attribute__((visibility("default")))
#else
#define GLIMP_API
#endif

/* GLIMP_VERSION_STRING of the library linked in, which may be newer than
 * the header compiled against. A static string. */
GLIMP_API const char *glimp_version(void);

/* ------------------------------------------------------------------ errors */

enum glimp_err {
    GLIMP_OK = 0,
    GLIMP_ERR_IO = -1,          /* open, read, write or map failed */
    GLIMP_ERR_FORMAT = -2,      /* malformed input: truncated, inconsistent */
    GLIMP_ERR_UNSUPPORTED = -3, /* well-formed but not supported here */
    GLIMP_ERR_NOT_FOUND = -4,   /* no such key, tensor or file entry */
    GLIMP_ERR_TYPE = -5,        /* a value has another type than asked for */
    GLIMP_ERR_RANGE = -6,       /* a value or index out of range */
    GLIMP_ERR_NOMEM = -7,       /* allocation failed or a cap was reached */
    GLIMP_ERR_INVALID = -8,     /* the caller passed a bad argument */
    GLIMP_ERR_REMOTE = -9,      /* a model's server failed or could not be reached
                                   (after the retries): try again once it is back */
};

/* Short fixed text for a code ("malformed input"). Never NULL. */
GLIMP_API const char *glimp_strerror(int code);

/* Detailed message of the last failure on the calling thread, such as
 * "tensor 'blk.3.attn_q.weight': data [offset 9123456, 1048576 bytes] past
 * end of file (size 8000000)". Valid until the next glimp call on this
 * thread; "" when nothing failed yet. */
GLIMP_API const char *glimp_last_error(void);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): the clock every time
 * glimp reports is read from. */
GLIMP_API double glimp_now(void);

/* ------------------------------------------------------------ tensor types */

/* Values are those of ggml's enum ggml_type, so GGUF files agree. */
enum glimp_type {
    GLIMP_TYPE_F32 = 0,
    GLIMP_TYPE_F16 = 1,
    GLIMP_TYPE_Q4_0 = 2,
    GLIMP_TYPE_Q4_1 = 3,
    GLIMP_TYPE_Q5_0 = 6,
    GLIMP_TYPE_Q5_1 = 7,
    GLIMP_TYPE_Q8_0 = 8,
    GLIMP_TYPE_Q8_1 = 9,
    GLIMP_TYPE_Q2_K = 10,
    GLIMP_TYPE_Q3_K = 11,
    GLIMP_TYPE_Q4_K = 12,
    GLIMP_TYPE_Q5_K = 13,
    GLIMP_TYPE_Q6_K = 14,
    GLIMP_TYPE_Q8_K = 15,
    GLIMP_TYPE_IQ2_XXS = 16,
    GLIMP_TYPE_IQ2_XS = 17,
    GLIMP_TYPE_IQ3_XXS = 18,
    GLIMP_TYPE_IQ1_S = 19,
    GLIMP_TYPE_IQ4_NL = 20,
    GLIMP_TYPE_IQ3_S = 21,
    GLIMP_TYPE_IQ2_S = 22,
    GLIMP_TYPE_IQ4_XS = 23,
    GLIMP_TYPE_I8 = 24,
    GLIMP_TYPE_I16 = 25,
    GLIMP_TYPE_I32 = 26,
    GLIMP_TYPE_I64 = 27,
    GLIMP_TYPE_F64 = 28,
    GLIMP_TYPE_IQ1_M = 29,
    GLIMP_TYPE_BF16 = 30,
    GLIMP_TYPE_TQ1_0 = 34,
    GLIMP_TYPE_TQ2_0 = 35,
    GLIMP_TYPE_COUNT = 36 /* one past the largest value known */
};

struct glimp_type_info {
    const char *name;    /* "Q4_K", as ggml and llama.cpp print it */
    uint32_t block_size; /* elements per block */
    uint32_t type_size;  /* bytes per block */
    bool supported;      /* glimp can quantize and dequantize it */
};

/* Facts about a tensor type, or NULL when the value names no type (ggml's
 * removed ones included). Every type GGUF files use is known, so a file can
 * be inspected even when glimp cannot compute with its tensors. */
GLIMP_API const struct glimp_type_info *glimp_type_info(uint32_t type);

/* Bytes taken by n elements of a type. Fails with GLIMP_ERR_FORMAT when n is
 * not a multiple of the block size, GLIMP_ERR_RANGE on overflow and
 * GLIMP_ERR_UNSUPPORTED for an unknown type. */
GLIMP_API int glimp_type_nbytes(uint32_t type, uint64_t n, uint64_t *nbytes);

/* Scalar reference conversions between float and a supported type (F32,
 * F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K). n must
 * be a multiple of the type's block size; dst holds glimp_type_nbytes bytes
 * (quantize) or n floats (dequantize). Fail with GLIMP_ERR_UNSUPPORTED or
 * GLIMP_ERR_INVALID, having written nothing. */
GLIMP_API int glimp_quantize(enum glimp_type type, const float *src, void *dst, uint64_t n);
GLIMP_API int glimp_dequantize(enum glimp_type type, const void *src, float *dst, uint64_t n);

/* IEEE half and bfloat16, round to nearest even; NaN stays NaN. */
GLIMP_API uint16_t glimp_fp32_to_fp16(float x);
GLIMP_API float glimp_fp16_to_fp32(uint16_t h);
GLIMP_API uint16_t glimp_fp32_to_bf16(float x);
GLIMP_API float glimp_bf16_to_fp32(uint16_t h);

/* -------------------------------------------------------------- GGUF files */

/* Metadata value types; values as in the GGUF specification. */
enum glimp_gguf_vtype {
    GLIMP_GGUF_U8 = 0,
    GLIMP_GGUF_I8 = 1,
    GLIMP_GGUF_U16 = 2,
    GLIMP_GGUF_I16 = 3,
    GLIMP_GGUF_U32 = 4,
    GLIMP_GGUF_I32 = 5,
    GLIMP_GGUF_F32 = 6,
    GLIMP_GGUF_BOOL = 7,
    GLIMP_GGUF_STR = 8,
    GLIMP_GGUF_ARR = 9,
    GLIMP_GGUF_U64 = 10,
    GLIMP_GGUF_I64 = 11,
    GLIMP_GGUF_F64 = 12,
    GLIMP_GGUF_VTYPE_COUNT = 13
};

/* "u32", "str", "arr", ...; "?" for values outside the enum. */
GLIMP_API const char *glimp_gguf_vtype_name(uint32_t vtype);

#define GLIMP_GGUF_MAX_DIMS 4
#define GLIMP_GGUF_DEFAULT_ALIGNMENT 32

/* A byte string that is not NUL-terminated and may contain NUL bytes. */
struct glimp_str {
    const char *ptr;
    uint64_t len;
};

struct glimp_gguf_value {
    enum glimp_gguf_vtype type;
    union {
        uint64_t u; /* U8, U16, U32, U64 */
        int64_t i;  /* I8, I16, I32, I64 */
        double f;   /* F32 (exactly widened), F64 */
        bool b;
        struct glimp_str s;
        struct {
            enum glimp_gguf_vtype type; /* element type, never ARR */
            uint64_t n;
            const void *data;             /* n packed little-endian elements,
                                             possibly unaligned; NULL for STR */
            const struct glimp_str *strs; /* n strings when type == STR */
        } arr;
    };
};

struct glimp_gguf_kv {
    const char *key; /* NUL-terminated */
    struct glimp_gguf_value val;
};

struct glimp_gguf_tensor {
    const char *name;                 /* NUL-terminated */
    uint32_t type;                    /* enum glimp_type value, always a known type */
    uint32_t n_dims;                  /* 1..GLIMP_GGUF_MAX_DIMS */
    uint64_t ne[GLIMP_GGUF_MAX_DIMS]; /* elements per dimension, ne[0]
                                         fastest; unused ones are 1 */
    uint64_t n_elements;
    uint64_t offset; /* from the start of the data section */
    uint64_t nbytes;
    const void *data; /* inside the mapping */
};

struct glimp_gguf;

/* Open and validate a GGUF v2 or v3 file. The file is mapped read-only; all
 * pointers handed out (keys, strings, arrays, tensor data) point into it or
 * into the handle and stay valid until glimp_gguf_close. Every count, length
 * and offset is checked, so a corrupt file fails here with GLIMP_ERR_FORMAT
 * (or GLIMP_ERR_UNSUPPORTED) and a message that says what and where. */
GLIMP_API int glimp_gguf_open(const char *path, struct glimp_gguf **out);

/* The same over bytes in memory, which the caller keeps alive and unchanged
 * until glimp_gguf_close. */
GLIMP_API int glimp_gguf_open_memory(const void *data, size_t size, struct glimp_gguf **out);

GLIMP_API void glimp_gguf_close(struct glimp_gguf *g); /* accepts NULL */

GLIMP_API uint32_t glimp_gguf_version(const struct glimp_gguf *g);
GLIMP_API uint32_t glimp_gguf_alignment(const struct glimp_gguf *g);
GLIMP_API uint64_t glimp_gguf_data_offset(const struct glimp_gguf *g); /* absolute */
GLIMP_API uint64_t glimp_gguf_file_size(const struct glimp_gguf *g);

GLIMP_API uint64_t glimp_gguf_n_kv(const struct glimp_gguf *g);
GLIMP_API const struct glimp_gguf_kv *glimp_gguf_kv_at(const struct glimp_gguf *g, uint64_t i);
GLIMP_API const struct glimp_gguf_kv *glimp_gguf_find(const struct glimp_gguf *g, const char *key);

/* Typed getters. GLIMP_ERR_NOT_FOUND when the key is absent, GLIMP_ERR_TYPE
 * when it holds another kind of value (any integer type serves an integer
 * getter and F32 or F64 a float one), GLIMP_ERR_RANGE when an integer does
 * not fit. The message names the key and both types. */
GLIMP_API int glimp_gguf_get_u32(const struct glimp_gguf *g, const char *key, uint32_t *out);
GLIMP_API int glimp_gguf_get_u64(const struct glimp_gguf *g, const char *key, uint64_t *out);
GLIMP_API int glimp_gguf_get_i64(const struct glimp_gguf *g, const char *key, int64_t *out);
GLIMP_API int glimp_gguf_get_f32(const struct glimp_gguf *g, const char *key, float *out);
GLIMP_API int glimp_gguf_get_f64(const struct glimp_gguf *g, const char *key, double *out);
GLIMP_API int glimp_gguf_get_bool(const struct glimp_gguf *g, const char *key, bool *out);
GLIMP_API int glimp_gguf_get_str(const struct glimp_gguf *g, const char *key, struct glimp_str *out);
/* An array whose elements have type elem (GLIMP_GGUF_ARR: any element type). */
GLIMP_API int glimp_gguf_get_arr(const struct glimp_gguf *g, const char *key, enum glimp_gguf_vtype elem,
                       const struct glimp_gguf_value **out);

/* Element i of a numeric or bool array value, converted. The caller keeps i
 * below arr.n; integers are returned as int64/uint64 as their type is. */
GLIMP_API uint64_t glimp_gguf_arr_u64(const struct glimp_gguf_value *v, uint64_t i);
GLIMP_API int64_t glimp_gguf_arr_i64(const struct glimp_gguf_value *v, uint64_t i);
GLIMP_API double glimp_gguf_arr_f64(const struct glimp_gguf_value *v, uint64_t i);

GLIMP_API uint64_t glimp_gguf_n_tensors(const struct glimp_gguf *g);
GLIMP_API const struct glimp_gguf_tensor *glimp_gguf_tensor_at(const struct glimp_gguf *g, uint64_t i);
GLIMP_API const struct glimp_gguf_tensor *glimp_gguf_find_tensor(const struct glimp_gguf *g,
                                                       const char *name);

/* Writer: collect metadata and tensors, then write one file. Values and
 * tensor data are copied in, so the caller's buffers may go at once. Keys
 * and tensor names must be unique. */
struct glimp_gguf_writer;

/* version 2 or 3; alignment a power of two (written as general.alignment
 * when it is not the default 32). NULL when out of memory or invalid. */
GLIMP_API struct glimp_gguf_writer *glimp_gguf_writer_init(uint32_t version, uint32_t alignment);
GLIMP_API void glimp_gguf_writer_free(struct glimp_gguf_writer *w); /* accepts NULL */

/* Any value, including arrays (whose element data or strings are copied). */
GLIMP_API int glimp_gguf_writer_set(struct glimp_gguf_writer *w, const char *key,
                          const struct glimp_gguf_value *v);
GLIMP_API int glimp_gguf_writer_set_u32(struct glimp_gguf_writer *w, const char *key, uint32_t v);
GLIMP_API int glimp_gguf_writer_set_i32(struct glimp_gguf_writer *w, const char *key, int32_t v);
GLIMP_API int glimp_gguf_writer_set_u64(struct glimp_gguf_writer *w, const char *key, uint64_t v);
GLIMP_API int glimp_gguf_writer_set_f32(struct glimp_gguf_writer *w, const char *key, float v);
GLIMP_API int glimp_gguf_writer_set_bool(struct glimp_gguf_writer *w, const char *key, bool v);
GLIMP_API int glimp_gguf_writer_set_str(struct glimp_gguf_writer *w, const char *key, const char *v);
/* n packed elements of a fixed-size type (not STR, not ARR). */
GLIMP_API int glimp_gguf_writer_set_arr(struct glimp_gguf_writer *w, const char *key,
                              enum glimp_gguf_vtype elem, uint64_t n, const void *data);
/* n NUL-terminated strings. */
GLIMP_API int glimp_gguf_writer_set_arr_str(struct glimp_gguf_writer *w, const char *key, uint64_t n,
                                  const char *const *strs);

/* A tensor of a known type; data holds glimp_type_nbytes(type, n) bytes where
 * n is the product of ne[0..n_dims). */
GLIMP_API int glimp_gguf_writer_add_tensor(struct glimp_gguf_writer *w, const char *name, uint32_t type,
                                 uint32_t n_dims, const uint64_t *ne, const void *data);

GLIMP_API int glimp_gguf_writer_write_file(const struct glimp_gguf_writer *w, const char *path);
/* The file's bytes in a buffer the caller releases with free(). */
GLIMP_API int glimp_gguf_writer_write_memory(const struct glimp_gguf_writer *w, void **buf, size_t *size);

/* --------------------------------------------------------------- tokenizer */

/* Token types as GGUF files store them (tokenizer.ggml.token_type). */
enum glimp_token_type {
    GLIMP_TOKEN_UNDEFINED = 0,
    GLIMP_TOKEN_NORMAL = 1,
    GLIMP_TOKEN_UNKNOWN = 2,
    GLIMP_TOKEN_CONTROL = 3,      /* <|im_start|>, <|endoftext|>: special */
    GLIMP_TOKEN_USER_DEFINED = 4, /* added tokens such as <think> */
    GLIMP_TOKEN_UNUSED = 5,
    GLIMP_TOKEN_BYTE = 6,
};

/* Pre-tokenizers (tokenizer.ggml.pre) glimp knows. */
enum glimp_pretok {
    GLIMP_PRETOK_QWEN2 = 0, /* "qwen2", "deepseek-r1-qwen": Qwen2.5, Qwen3, R1-Distill-Qwen */
    GLIMP_PRETOK_LLAMA3 = 1 /* "llama-bpe": Llama 3, R1-Distill-Llama */
};

struct glimp_tokenizer_params {
    /* An unknown tokenizer.ggml.pre is an error naming it, unless this is
     * set: then the qwen2 rules are used and glimp_tokenizer_warning() says
     * so. */
    bool allow_unknown_pre;
};

GLIMP_API struct glimp_tokenizer_params glimp_tokenizer_default_params(void);

struct glimp_tokenizer;

/* A byte-level BPE tokenizer (tokenizer.ggml.model "gpt2") from a GGUF
 * file's metadata: tokens, token types, merges (rank = order), special ids.
 * Everything needed is copied, so g may be closed afterwards. Fails with
 * GLIMP_ERR_UNSUPPORTED for another tokenizer model or an unknown
 * pre-tokenizer, GLIMP_ERR_FORMAT for inconsistent metadata (a merge of
 * unknown tokens, an id past the vocabulary, ...), naming the key. A
 * tokenizer is read-only once loaded and may be shared between threads. */
GLIMP_API int glimp_tokenizer_load(const struct glimp_gguf *g, const struct glimp_tokenizer_params *p,
                         struct glimp_tokenizer **out);
GLIMP_API void glimp_tokenizer_free(struct glimp_tokenizer *t); /* accepts NULL */

GLIMP_API uint32_t glimp_tokenizer_n_vocab(const struct glimp_tokenizer *t);
GLIMP_API enum glimp_pretok glimp_tokenizer_pretok(const struct glimp_tokenizer *t);
/* "" or a note the caller should show (e.g. the pre-tokenizer fallback). */
GLIMP_API const char *glimp_tokenizer_warning(const struct glimp_tokenizer *t);
/* Special ids, -1 when the model has none. eot: <|im_end|> or <|eot_id|>
 * style end of turn, else eos. */
GLIMP_API int32_t glimp_tokenizer_bos(const struct glimp_tokenizer *t);
GLIMP_API int32_t glimp_tokenizer_eos(const struct glimp_tokenizer *t);
GLIMP_API int32_t glimp_tokenizer_eot(const struct glimp_tokenizer *t);
GLIMP_API int32_t glimp_tokenizer_pad(const struct glimp_tokenizer *t);
GLIMP_API bool glimp_tokenizer_add_bos(const struct glimp_tokenizer *t); /* add_bos_token */
GLIMP_API enum glimp_token_type glimp_tokenizer_token_type(const struct glimp_tokenizer *t, int32_t id);
/* The token's string as the vocabulary stores it (byte-level symbols such
 * as "Ġthe"); NULL for an id outside the vocabulary. Valid until
 * glimp_tokenizer_free. */
GLIMP_API const char *glimp_tokenizer_token_text(const struct glimp_tokenizer *t, int32_t id);
/* The id whose vocabulary string is exactly text, or -1. */
GLIMP_API int32_t glimp_tokenizer_find(const struct glimp_tokenizer *t, const char *text, size_t len);

/* A growable list of token ids. Zero-initialise; release with
 * glimp_tokens_free. */
struct glimp_tokens {
    int32_t *ids;
    size_t n;
    size_t cap;
};
GLIMP_API void glimp_tokens_free(struct glimp_tokens *tokens);
/* Insert n ids at position at (0..t->n) of t, or append them (push),
 * growing the list; GLIMP_ERR_INVALID for a position past the end,
 * GLIMP_ERR_NOMEM (t unchanged). */
GLIMP_API int glimp_tokens_insert(struct glimp_tokens *t, size_t at, const int32_t *ids, size_t n);
GLIMP_API int glimp_tokens_push(struct glimp_tokens *t, const int32_t *ids, size_t n);

/* UTF-8 as the tokenizer reads it (the Unicode standard's table 3-7), for
 * whoever shows model text, which may end inside a character or hold any
 * bytes: the length of the well-formed character at s (n bytes left), 0
 * when there is none; and the length of the ill-formed stretch at s that
 * one U+FFFD stands for (Unicode's maximal subpart), at least 1 when n > 0. */
GLIMP_API size_t glimp_utf8_char_len(const char *s, size_t n);
GLIMP_API size_t glimp_utf8_bad_len(const char *s, size_t n);
/* s[0..n) made well-formed: each ill-formed stretch (maximal subpart) and
 * each NUL becomes one U+FFFD, as JSON and web pages need model text. A
 * malloc'ed NUL-terminated string of *out_n bytes, or NULL when out of
 * memory. */
GLIMP_API char *glimp_utf8_repair(const char *s, size_t n, size_t *out_n);

/* Encode len bytes of text and append the ids to out. With parse_special,
 * control tokens written in the text ("<|im_start|>") become their ids;
 * user-defined added tokens ("<think>") always do, as in llama.cpp. No BOS
 * is added: callers that want one check glimp_tokenizer_add_bos. Qwen
 * vocabularies apply NFC first. Text that is not valid UTF-8 is split at
 * the bad bytes: each run of them is a piece of its own, BPE-encoded like
 * any bytes (each byte has a token), and the valid stretches between are
 * normalised and split as usual, so decoding gives every byte back. Fails
 * with GLIMP_ERR_RANGE for text of 2^31 bytes or more; on failure out is
 * left as it was. */
GLIMP_API int glimp_tokenize(const struct glimp_tokenizer *t, const char *text, size_t len,
                   bool parse_special, struct glimp_tokens *out);

/* The exact bytes of one token: byte-level symbols mapped back to bytes;
 * control tokens give their text when render_special, else nothing. Writes
 * at most cap bytes and sets *len to the full length (GLIMP_ERR_RANGE when
 * cap is too small). GLIMP_ERR_RANGE for an id outside the vocabulary. */
GLIMP_API int glimp_token_to_bytes(const struct glimp_tokenizer *t, int32_t id, bool render_special,
                         char *buf, size_t cap, size_t *len);

/* Decode ids to bytes in a malloc'ed NUL-terminated buffer (*len without
 * the NUL). An id outside the vocabulary is GLIMP_ERR_RANGE naming it. */
GLIMP_API int glimp_detokenize(const struct glimp_tokenizer *t, const int32_t *ids, size_t n,
                     bool render_special, char **text, size_t *len);

/* Streaming decoder: feed ids one at a time, get text that is always valid
 * UTF-8. An incomplete UTF-8 sequence at the end is held back until the next
 * token completes it; bytes that can never form valid UTF-8 come out as
 * U+FFFD. */
struct glimp_decoder;
GLIMP_API struct glimp_decoder *glimp_decoder_init(const struct glimp_tokenizer *t, bool render_special);
GLIMP_API void glimp_decoder_free(struct glimp_decoder *d); /* accepts NULL */
/* Text made complete by this token; *out valid until the next call on d. */
GLIMP_API int glimp_decoder_push(struct glimp_decoder *d, int32_t id, const char **out, size_t *len);
/* Whatever is held back (as U+FFFD), then reset. */
GLIMP_API int glimp_decoder_flush(struct glimp_decoder *d, const char **out, size_t *len);

/* ---------------------------------------------------------- chat templates */

enum glimp_chat_family {
    GLIMP_CHAT_CHATML = 0,     /* plain <|im_start|>role ... <|im_end|> */
    GLIMP_CHAT_QWEN3 = 1,      /* ChatML with thinking, enable_thinking */
    GLIMP_CHAT_QWEN25 = 2,     /* Qwen2.5: ChatML with a default system prompt */
    GLIMP_CHAT_DEEPSEEK_R1 = 3, /* <｜User｜>/<｜Assistant｜>, answer opens with <think>\n */
    GLIMP_CHAT_DEMO = 4 /* the demo pair (models/demo): each message's text and a blank
                           line, as the models were trained on raw text */
};

GLIMP_API const char *glimp_chat_family_name(enum glimp_chat_family f); /* "qwen3", ... */

struct glimp_chat_template {
    enum glimp_chat_family family;
    bool fallback;     /* the model's template was not recognised */
    char warning[256]; /* why, when fallback; "" otherwise */
    char bos_text[64]; /* the BOS token's text where the template prints it */
};

/* The family of a model's chat template, from tokenizer.chat_template,
 * general.architecture and the special tokens. Never fails for want of a
 * template; fallback is set and warning says why when the template is not
 * one of the known ones: a missing one is guessed from the architecture and
 * special tokens, one that resembles a known family (its special tokens)
 * gets that family, and any other gives CHATML. Fails only for a bad
 * argument, out of memory, or (GLIMP_ERR_UNSUPPORTED) a deepseek-r1 model
 * whose BOS text does not fit bos_text. */
GLIMP_API int glimp_chat_detect(const struct glimp_gguf *g, struct glimp_chat_template *out);

struct glimp_chat_message {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
    const char *reasoning_content; /* optional, assistant turns; NULL if none */
};

struct glimp_chat_params {
    bool add_generation_prompt; /* default true */
    bool enable_thinking;       /* default true; false: empty think block */
    /* default false; true: the last message (the assistant's) is left open
     * for the model to continue, as vLLM's continue_final_message: the
     * prompt is the template's text up to the end of that message's content,
     * trailing whitespace and all, with no end of turn after it. Needs
     * add_generation_prompt false. */
    bool continue_final_message;
};

/* What continue_final_message appends to the final message's content
 * before rendering, to cut the rendered text where it lands (control bytes
 * no template writes); a final content holding it is refused. */
#define GLIMP_CHAT_SENTINEL "\x1f<glimp-continue-final-message>\x1f"

GLIMP_API struct glimp_chat_params glimp_chat_default_params(void);

/* The prompt exactly as the family's Jinja template renders it, in a
 * malloc'ed NUL-terminated string. GLIMP_ERR_INVALID for an unknown role or
 * a NULL content, naming the message, and with continue_final_message for a
 * last message that is not the assistant's, add_generation_prompt also set,
 * or a final content holding GLIMP_CHAT_SENTINEL.
 *
 * continue_final_message keeps what the template does to the final
 * message's content: Qwen3 writes the reasoning of an assistant turn after
 * the last user turn in a think block of its own ("<think>\n" + reasoning
 * stripped of newlines + "\n</think>\n\n"), so a final content without
 * </think> (a think block still open, "<think>\nstep one\n\n") follows an
 * empty block and is continued verbatim, and one holding </think> continues
 * verbatim only from its answer (the text after the last </think>, leading
 * newlines dropped) when its think block is already in that form;
 * DeepSeek-R1 keeps only the text after the last </think>; ChatML, Qwen2.5
 * and the demo family write the content as given. */
GLIMP_API int glimp_chat_render(const struct glimp_chat_template *tmpl, const struct glimp_chat_message *msgs,
                      size_t n_msgs, const struct glimp_chat_params *p, char **out);

/* ------------------------------------------------------------------ models */

enum glimp_arch {
    GLIMP_ARCH_QWEN3 = 0, /* "qwen3": per-head RMSNorm on q and k, NEOX RoPE */
    GLIMP_ARCH_QWEN2 = 1, /* "qwen2": q/k/v biases, NEOX RoPE */
    GLIMP_ARCH_LLAMA = 2  /* "llama": NORM RoPE, llama3 frequency factors */
};

/* Which dimensions RoPE rotates together; values as llama.cpp's
 * LLAMA_ROPE_TYPE_*. With n_rot rotated dimensions of a head:
 *   NORM: pairs (2i, 2i+1)          (llama: the converter permutes q/k rows)
 *   NEOX: pairs (i, i + n_rot/2)    (qwen2, qwen3)
 * Pair i turns by pos * freq_scale * rope_base^(-2i/n_rot) / rope_freqs[i]. */
enum glimp_rope_type { GLIMP_ROPE_NORM = 0, GLIMP_ROPE_NEOX = 2 };

struct glimp_model_params {
    /* Cap in bytes on one sequence's KV cache when glimp_seq_init is asked
     * for the model's own context (n_ctx 0). Default 2 GiB. */
    uint64_t kv_budget;
    /* The default n_batch of the model's contexts (glimp_ctx_params): tokens
     * computed together in one pass. Default 32. */
    uint32_t n_batch;
    /* The default n_threads of the model's contexts; 0: one per core. */
    uint32_t n_threads;
    /* Which kernel table runs the forward pass, chosen at load: NULL or
     * "auto" (default): the fastest the CPU runs; "ref": the scalar
     * reference (slow, to the float64 reference's precision); "scalar": the
     * fast algorithm in portable C, bitwise equal to the SIMD ones; "avx2",
     * "avxvnni", "avx512" (x86-64). A name glimp does not know, or one this CPU
     * cannot run, fails the load naming it. Read only during the load; the
     * library never reads the environment (the programs take it from
     * GLIMP_KERNELS). */
    const char *kernels;
    /* For a local backend (glimp_backend_local_open): the most prompt
     * tokens one shared forward pass takes from its sequences' prompts
     * (glimp serve --ubatch), so that a long prompt is read in chunks
     * between the decoding steps of the others. 0 (default): 512. Changes
     * speed only, never the logits. */
    uint32_t n_ubatch;
};

GLIMP_API struct glimp_model_params glimp_model_default_params(void);

/* Hyperparameters as read from the GGUF keys (and tensor shapes). */
struct glimp_model_info {
    enum glimp_arch arch;
    const char *arch_name; /* "qwen3"; static storage */
    uint32_t n_vocab;      /* rows of token_embd.weight */
    uint32_t n_ctx_train;  /* <arch>.context_length */
    uint32_t n_layer;
    uint32_t n_embd;
    uint32_t n_head;
    uint32_t n_head_kv;
    uint32_t head_dim; /* attention.key_length, else n_embd / n_head */
    uint32_t n_ff;
    uint32_t n_rot; /* rope.dimension_count, else head_dim */
    float rope_base;
    float rope_freq_scale; /* 1 / linear scaling factor; 1 when none */
    float rms_eps;
    enum glimp_rope_type rope_type;
    bool rope_freqs;  /* rope_freqs.weight divides the frequencies (llama3) */
    bool tied_output; /* no output.weight: token_embd.weight serves */
    uint64_t n_params;
    uint64_t weight_bytes; /* bytes of all tensors the forward pass reads */
    /* Bytes of weights one decode step (one token) reads: every layer's
     * matrices, norms and biases, the output norm and head, and one row of
     * the token embedding (all of it when tied, as the head). Not counted:
     * the rest of an untied embedding, rope_freqs.weight (read at load) and
     * the KV cache, which grows with the position. */
    uint64_t decode_bytes;
    /* The kernel table that runs the forward pass ("avx512", "avx2",
     * "scalar"...: the kernels parameter resolved); static storage. */
    const char *kernels;
    /* "" or what the kernels' self-checks found on this CPU (a table that
     * computed wrong numbers here, not used: a bug to report), for the
     * program to show; static storage. */
    const char *kernels_note;
};

struct glimp_model;

/* Load a qwen3, qwen2 or llama GGUF file (p NULL: defaults). The weights
 * stay in the read-only mapping; nothing is copied. Fails naming the
 * problem: GLIMP_ERR_UNSUPPORTED for an unknown architecture, a tensor type
 * glimp cannot compute with or a RoPE scaling it does not know;
 * GLIMP_ERR_NOT_FOUND for a missing key or tensor; GLIMP_ERR_FORMAT for a
 * tensor of unexpected shape, head sizes that do not divide or other
 * inconsistent hyperparameters; GLIMP_ERR_INVALID for n_batch, n_threads or
 * kernels out of range, naming it (GLIMP_ERR_UNSUPPORTED for kernels this
 * CPU cannot run); plus the errors of glimp_gguf_open. A loaded model is
 * read-only and may serve contexts and sequences on several threads. */
GLIMP_API int glimp_model_load(const char *path, const struct glimp_model_params *p,
                     struct glimp_model **out);
/* Accepts NULL; free the model's contexts and sequences first. */
GLIMP_API void glimp_model_free(struct glimp_model *m);

/* Valid until glimp_model_free. */
GLIMP_API const struct glimp_model_info *glimp_model_info(const struct glimp_model *m);
/* The mapped file, so a tokenizer or chat template can be read from it.
 * Valid until glimp_model_free; do not close it. */
GLIMP_API const struct glimp_gguf *glimp_model_gguf(const struct glimp_model *m);

/* A model computes in a context and remembers in sequences (llama.cpp's
 * model / context split):
 *   - a context holds the workspace of a forward pass: scratch for n_batch
 *     tokens, the thread pool, per-thread attention scores. It is sized for
 *     a batch, not for a history, so one context serves any number of
 *     sequences of its model, one pass at a time, and one pass may carry
 *     tokens of many sequences (glimp_ctx_decode). A context is used by one
 *     thread at a time.
 *   - a sequence holds a token history: its KV cache (F32, grown as the
 *     sequence grows), its length and the logits of its last append. One
 *     sequence is used by one thread at a time; several sequences share a
 *     model and a context.
 * A sequence's logits do not depend on the context that computed them nor
 * on which other sequences it served or shared a pass with: they are
 * bitwise those of the same tokens appended alone (batch invariance across
 * sequences). */
struct glimp_ctx;
struct glimp_seq;

struct glimp_ctx_params {
    /* Tokens computed together in one pass; a longer append or decode runs
     * in chunks of this many. The scratch is sized by it. 0: the model's
     * n_batch. It changes speed and memory, never the logits (batch
     * invariance). */
    uint32_t n_batch;
    /* Threads for the forward pass, the caller's included; 0: the model's
     * n_threads. Changes speed only, never the logits (work is split by
     * output rows and heads). */
    uint32_t n_threads;
};

/* Everything 0: the model's n_batch and n_threads. */
GLIMP_API struct glimp_ctx_params glimp_ctx_default_params(void);

/* A context for model m (p NULL: defaults): its scratch and its threads,
 * all made here. The attention scores grow when a sequence's KV cache
 * grows past any served before; nothing else is allocated later.
 * GLIMP_ERR_INVALID for n_batch over 4096 or n_threads over 1024, naming
 * it; GLIMP_ERR_NOMEM when memory or threads cannot be had. The model must
 * outlive the context. */
GLIMP_API int glimp_ctx_init(const struct glimp_model *m, const struct glimp_ctx_params *p,
                   struct glimp_ctx **out);
GLIMP_API void glimp_ctx_free(struct glimp_ctx *c); /* accepts NULL; joins its threads */

GLIMP_API uint32_t glimp_ctx_n_batch(const struct glimp_ctx *c);
GLIMP_API uint32_t glimp_ctx_n_threads(const struct glimp_ctx *c);

/* Where a context's forward passes spend their time (`glimp bench
 * --profile`): wall-clock seconds per phase, as the calling thread sees
 * them, summed over the glimp_ctx_decode and glimp_seq_append calls that
 * succeed while timing is on. Each boundary between phases reads the clock
 * once and gives the time since the last boundary to the phase that ended,
 * so the phases of a call add up to the call's duration; with timing off a
 * boundary costs one test of a flag. Timing changes no logit. */
enum glimp_pass_phase {
    GLIMP_PASS_QUANTIZE = 0, /* activation rows quantized for the weights' products */
    GLIMP_PASS_ATTN_PROJ,    /* the q, k, v and attention-output products */
    GLIMP_PASS_ATTENTION,    /* attention over the KV cache: scores, softmax, values */
    GLIMP_PASS_FFN,          /* gate and up (SiLU(gate) * up fused in), down */
    GLIMP_PASS_ELEMENTWISE,  /* embedding rows, RMSNorms, biases, q/k norms, RoPE,
                                KV cache writes, residual adds */
    GLIMP_PASS_OUTPUT,       /* the output norm and head (the logits) */
    GLIMP_PASS_SYNC,         /* the caller handing a job to the threads and waiting
                                for their last items (imbalance, wake-up, join) */
    GLIMP_PASS_OTHER,        /* the call outside the passes: checks, KV cache
                                growth, chunking, bookkeeping */
    GLIMP_PASS_COUNT
};

struct glimp_phase_times {
    double seconds[GLIMP_PASS_COUNT]; /* per enum glimp_pass_phase */
    /* seconds[GLIMP_PASS_SYNC] split by the phase whose jobs it waited in
     * (so the phase that a slow or descheduled thread holds up shows) */
    double waits[GLIMP_PASS_COUNT];
    uint64_t n_calls;  /* decodes and appends timed */
    uint64_t n_tokens; /* tokens they evaluated */
};

/* Timing on (counters reset to 0) or off (counters kept). */
GLIMP_API void glimp_ctx_time_phases(struct glimp_ctx *c, bool on);
/* The counters summed since timing was last turned on. */
GLIMP_API void glimp_ctx_phase_times(const struct glimp_ctx *c, struct glimp_phase_times *out);
/* "quantize", "attn_proj", "attention", "ffn", "elementwise", "output",
 * "sync", "other"; NULL out of range. Static storage. */
GLIMP_API const char *glimp_pass_phase_name(enum glimp_pass_phase ph);

/* A sequence that holds up to n_ctx tokens; n_ctx 0: the model's context
 * length, capped by the model's kv_budget (rounded down to a multiple of
 * 256). Its KV cache is not allocated here but as tokens come: in pages of
 * 256 positions, at least doubling each time, never past n_ctx; a rollback
 * that leaves three quarters of it unused gives memory back (all of it at
 * length 0). So a server may keep many sequences of a long context and pay
 * for the tokens they hold. glimp_seq_append with all_logits also grows a
 * logits buffer to the largest batch asked for. The model must outlive the
 * sequence; a sequence needs no context but while it appends. */
GLIMP_API int glimp_seq_init(const struct glimp_model *m, uint32_t n_ctx, struct glimp_seq **out);
GLIMP_API void glimp_seq_free(struct glimp_seq *s); /* accepts NULL */

GLIMP_API uint32_t glimp_seq_len(const struct glimp_seq *s);   /* tokens held */
GLIMP_API uint32_t glimp_seq_n_ctx(const struct glimp_seq *s); /* most tokens it can hold */
/* Bytes of memory s holds now: its KV cache as allocated, its logits
 * buffers and its bookkeeping. 0 for NULL. */
GLIMP_API size_t glimp_seq_bytes(const struct glimp_seq *s);

/* Evaluate n tokens at positions len .. len+n-1 in context c and keep them
 * in s (both of the same model): glimp_ctx_decode with one item. *logits
 * (when logits is not NULL) receives n_vocab raw logits of the last
 * position, or with all_logits n * n_vocab (position by position); with
 * logits NULL none are computed (a prompt chunk nobody reads). They are
 * owned by the sequence, not the context, and stay valid until the
 * sequence's next append, truncate or free, whatever other sequences do in
 * c meanwhile. A token's logits are bitwise identical however the tokens
 * before and with it were batched, whichever context computed them and
 * with how many threads, and whichever sequences shared its passes (batch
 * invariance). Fails with GLIMP_ERR_RANGE for a token id outside the
 * vocabulary or a batch that would pass the context ("sequence would hold
 * 4100 tokens, context is 4096"), GLIMP_ERR_INVALID for n 0 or a context
 * of another model, GLIMP_ERR_NOMEM when the KV cache, the all-logits
 * buffer or the context's attention scores cannot grow; a failed append
 * leaves the sequence (and the context) as they were. */
GLIMP_API int glimp_seq_append(struct glimp_ctx *c, struct glimp_seq *s, const int32_t *ids, size_t n,
                     bool all_logits, const float **logits);

/* One sequence's part of a batch: n tokens appended to seq, as
 * glimp_seq_append's arguments. */
struct glimp_batch_item {
    struct glimp_seq *seq; /* at most one item per sequence in a batch */
    const int32_t *ids;    /* n token ids */
    uint32_t n;            /* at least 1 */
    bool all_logits;       /* logits of every position, not only the last */
    const float **logits;  /* receives them as glimp_seq_append's; NULL: none */
};

/* Evaluate the tokens of n_items sequences of c's model in the same forward
 * passes: each weight is read once per pass for all of them (a pass holds
 * up to n_batch tokens; more run in several, an item possibly split across
 * two), while each sequence attends over its own cache at its own
 * positions. Sequences may decode one token while others prefill a prompt.
 * Each item ends as glimp_seq_append of its tokens would leave it, with
 * bitwise the same logits and cache: which sequences share a pass, and in
 * what order the items come, changes no bit. Everything is checked, and
 * all memory had, before anything changes: a refused call leaves every
 * sequence as it was (its length, its cache's contents, the logits it last
 * gave). Errors as glimp_seq_append's, naming the item ("decode: item 2:
 * sequence would hold 70 tokens, context is 64"), plus GLIMP_ERR_INVALID
 * for no items or a sequence named by two items. */
GLIMP_API int glimp_ctx_decode(struct glimp_ctx *c, const struct glimp_batch_item *items, size_t n_items);

/* Roll back to the first len tokens (len <= glimp_seq_len, else
 * GLIMP_ERR_RANGE and nothing changes). A rollback to a quarter of the KV
 * cache's capacity or less frees the rest (to whole pages; all at 0). */
GLIMP_API int glimp_seq_truncate(struct glimp_seq *s, uint32_t len);

/* ---------------------------------------------------------------- sampling */

/* How the next token is drawn from one position's raw logits. The filters
 * run in llama.cpp's default chain order (common_params_sampling):
 *
 *   top-k -> top-p -> min-p -> temperature -> draw
 *
 *   top-k  keeps the k largest logits (ties: the lower id ranks first).
 *   top-p  keeps the shortest run of the survivors, largest first, whose
 *          probabilities (softmax at T = 1 over the survivors) sum to at
 *          least top_p; at least one token.
 *   min-p  keeps the survivors whose probability is at least min_p times the
 *          largest one (logit >= max_logit + ln min_p).
 *   temperature divides the survivors' logits; one token is drawn from their
 *          softmax with the sampler's RNG (one 64-bit draw per token).
 *
 * temperature 0 is greedy: the largest logit (the lowest id on ties), no
 * filter and no draw. Each filter is off at its neutral value. */
struct glimp_sampler_params {
    float temperature; /* >= 0; 0: greedy. Default 0.8 */
    uint32_t top_k;    /* 0: off. Default 40 */
    float top_p;       /* in [0, 1]; 1: off. Default 0.95 */
    float min_p;       /* in [0, 1]; 0: off. Default 0.05 */
    uint64_t seed;     /* RNG seed. Default 0 */
};

/* llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05),
 * seed 0. */
GLIMP_API struct glimp_sampler_params glimp_sampler_default_params(void);

/* A sampler: the params, an RNG (xoshiro256**, seeded through splitmix64, so
 * one seed gives the same draws on every platform) and scratch for n_vocab
 * candidates, allocated here so that sampling never allocates. One sampler
 * is used by one thread at a time. */
struct glimp_sampler;

/* p NULL: defaults. GLIMP_ERR_INVALID for a parameter out of its range or
 * n_vocab 0, naming it; GLIMP_ERR_NOMEM. */
GLIMP_API int glimp_sampler_init(const struct glimp_sampler_params *p, uint32_t n_vocab,
                       struct glimp_sampler **out);
GLIMP_API void glimp_sampler_free(struct glimp_sampler *s); /* accepts NULL */

/* Restart the RNG from seed: the draws that follow are those of a sampler
 * just created with it. */
GLIMP_API void glimp_sampler_set_seed(struct glimp_sampler *s, uint64_t seed);

/* Pick the next token from n_vocab raw logits (n_vocab at most the n_vocab
 * the sampler was made for). -inf logits are never picked. Fails with
 * GLIMP_ERR_INVALID, *id unchanged and no draw taken, for a NaN or +inf
 * logit (naming the id), no finite logit, or n_vocab 0 or too large. */
GLIMP_API int glimp_sampler_sample(struct glimp_sampler *s, const float *logits, uint32_t n_vocab,
                         int32_t *id);

/* Entropy in nats of softmax(logits) at T = 1 (DESIGN.md: H_init, mode
 * "full"): H = -sum p_i ln p_i, in double, through log-sum-exp so that no
 * logit can overflow. -inf logits are tokens of probability 0. NaN when n is
 * 0, when no logit is finite, or when any logit is NaN or +inf. */
GLIMP_API double glimp_entropy_full(const float *logits, size_t n);
/* ln sum_i exp(x_i), in double, shifted by the largest so that nothing
 * overflows: ln p(i) = x_i - glimp_log_sum_exp(x, n). NaN for no entries or
 * a NaN or +inf one, -inf when every entry is -inf. */
GLIMP_API double glimp_log_sum_exp(const float *x, size_t n);

/* Entropy in nats of the k largest logits' probabilities renormalised to sum
 * to 1, which is what the reference GlimpRouter code computes from a
 * server's top-20 logprobs (mode "topk:20"); at most ln k. Ties at the k-th
 * place go to the lower id. k >= n is the full entropy. NaN as for
 * glimp_entropy_full, and for k 0. */
GLIMP_API double glimp_entropy_topk(const float *logits, size_t n, size_t k);

/* The ids of the k largest of n logits, largest first, the lower id first
 * on ties; NaN ranks as -inf. Writes min(k, n) ids and returns that count
 * (n at most 2^31, as ids are int32). Allocates nothing: O(n log k) with a
 * heap kept in ids. */
GLIMP_API size_t glimp_logits_top_k(const float *logits, size_t n, size_t k, int32_t *ids);

/* Sampling, taken apart for speculative decoding: the probability the
 * sampler gives each token (after top-k, top-p, min-p and the temperature;
 * 0 for the tokens the filters drop; greedy: 1 for the largest logit, ties
 * to the lower id), and one draw from such a vector with the sampler's RNG.
 * glimp_sampler_probs writes n_vocab floats that sum to 1 (within rounding)
 * and draws nothing; it fails as glimp_sampler_sample does. */
GLIMP_API int glimp_sampler_probs(struct glimp_sampler *s, const float *logits, uint32_t n_vocab,
                        float *probs);
/* Draw an id with probability probs[id] / sum(probs) (one 64-bit draw).
 * GLIMP_ERR_INVALID for a negative, NaN or infinite entry or a zero sum. */
GLIMP_API int glimp_sampler_draw(struct glimp_sampler *s, const float *probs, uint32_t n, int32_t *id);
/* A uniform double in [0, 1) from the sampler's RNG (one 64-bit draw). */
GLIMP_API double glimp_sampler_uniform(struct glimp_sampler *s);

/* ----------------------------------------------------------------- backends */

/* A backend is one model as the router sees it: vocabulary, tokenizer, chat
 * template and sequences it can append to, sample from and roll back. The
 * local backend runs a GGUF file in this process; a remote one talks to
 * an OpenAI-compatible server. The router uses nothing else. */
struct glimp_backend;

/* Load a GGUF model with its tokenizer and chat template (p NULL: model
 * defaults). Fails as glimp_model_load and glimp_tokenizer_load do. */
GLIMP_API int glimp_backend_local_open(const char *path, const struct glimp_model_params *p,
                             struct glimp_backend **out);
GLIMP_API void glimp_backend_free(struct glimp_backend *b); /* accepts NULL */
/* A short description for people ("local qwen3 0.6B Q8_0 (model.gguf)");
 * valid until glimp_backend_free. */
GLIMP_API const char *glimp_backend_describe(const struct glimp_backend *b);
/* "" or a note people should see: the tokenizer or the chat template fell
 * back to a guess. Valid until glimp_backend_free. */
GLIMP_API const char *glimp_backend_warning(const struct glimp_backend *b);
GLIMP_API uint32_t glimp_backend_n_vocab(const struct glimp_backend *b);
/* A hash of the vocabulary (every token's text and type): equal for two
 * models that share one, so that token ids can pass between them. 0 for
 * NULL. */
GLIMP_API uint64_t glimp_backend_vocab_hash(const struct glimp_backend *b);

/* A remote backend: a model behind an OpenAI-compatible server (vLLM,
 * SGLang, llama.cpp's llama-server, glimp serve -m), driven over HTTP(S)
 * through libcurl. In token-id mode (a local GGUF of the server's
 * vocabulary is given and the server's /tokenize agrees with it) prompts go
 * as token ids to /v1/completions and exact ids come back, so the context
 * grows by exact tokens and the server's prefix cache reuses all of it; the
 * backend then has exact ids (the router can pass ids between the models).
 * Without one, text mode: the prompt goes as text to /v1/completions with
 * the steps as text and the server tokenizes it. A remote backend never has
 * full distributions (top-20 log-probabilities only) nor in-process
 * rollback, so the router refuses --entropy full and speculative decoding
 * with it (the server's own speculative decoding does that job). The
 * sampling runs on the server: greedy runs equal a local run of the same
 * model token for token; seeded sampling is the server's own stream. */
struct glimp_remote_params {
    const char *url;     /* http:// or https://, with or without the /v1 suffix */
    const char *model;   /* the model's name on the server; NULL: its only model */
    const char *api_key; /* sent as Authorization: Bearer; NULL: none */
    const char *vocab;   /* a GGUF holding the server model's vocabulary and chat
                            template (weights not read); NULL: text mode */
    bool vocab_checked;  /* refuse to open when /tokenize disagrees with vocab
                            (default true; false: fall back to text mode) */
    uint32_t n_ctx;      /* the context; 0: the server's (its /tokenize
                            max_model_len), else 32768 */
    double connect_timeout_s;    /* default 10 */
    double first_byte_timeout_s; /* a request's first byte (prefill, queueing); default 300 */
    double token_timeout_s;      /* between two streamed events; default 60 */
    uint32_t retries;            /* after connection failures, time-outs, 429 and 5xx;
                                    never after another 4xx; default 4 */
    double backoff_s;            /* the first wait, doubled each retry (a Retry-After
                                    header wins, up to 60 s); default 0.5 */
    uint32_t step_hint;          /* max_tokens of a stream opened for a probe before
                                    the step's budget is known; default 512 */
    bool probe_request;          /* the reference code's pattern, for measuring what
                                    the streamed probe saves: each probe is a request
                                    of its own (one greedy token, its top 20), and the
                                    step another; default false */
    bool no_eager_sync;          /* do not send the tokens written by the other model
                                    ahead (a one-token completion that fills the
                                    server's prefix cache while this model waits), so
                                    that its next step reads them itself; default false */
};
struct glimp_remote_params glimp_remote_default_params(void);

/* Connect (GET /v1/models unless model is given; /tokenize to check the
 * vocabulary) and make the backend. GLIMP_ERR_IO when the server cannot be
 * reached (naming it), GLIMP_ERR_INVALID for a bad URL or a server with
 * several models and none named, GLIMP_ERR_FORMAT for answers that make no
 * sense, plus the errors of glimp_gguf_open and glimp_tokenizer_load for
 * vocab. The description says which mode it is in and why. */
int glimp_backend_remote_open(const struct glimp_remote_params *p, struct glimp_backend **out);

/* Does s name a server (http:// or https://) rather than a file? */
bool glimp_is_url(const char *s);

/* Open a model from a path (local, with mp) or a URL (remote, with rp,
 * whose url is replaced by path_or_url). mp and rp may be NULL: defaults. */
int glimp_backend_open(const char *path_or_url, const struct glimp_model_params *mp,
                       const struct glimp_remote_params *rp, struct glimp_backend **out);

/* What a remote backend spent on the network: completion requests made
 * (the set-up's /v1/models and /tokenize not counted), retries,
 * seconds waiting for the first byte of answers (queueing and prefill on
 * the server, plus the round trip), seconds streaming after it, seconds
 * connecting (TCP and TLS), and streams closed early (the server aborts
 * them). All zero for a local backend. Counts since the backend opened. */
struct glimp_remote_stats {
    uint64_t requests, retries, aborted;
    double connect_s, first_byte_s, stream_s;
    /* eager sync: prefill requests sent, of them failed, their time in
     * flight (off the critical path), and the time steps waited for one */
    uint64_t prefills, prefills_failed;
    double prefill_s, prefill_wait_s;
};
void glimp_backend_remote_stats(const struct glimp_backend *b, struct glimp_remote_stats *out);
bool glimp_backend_is_remote(const struct glimp_backend *b);

/* ------------------------------------------------------------------- router */

/* Who writes a step. */
enum glimp_writer { GLIMP_WRITER_SLM = 0, GLIMP_WRITER_LLM = 1 };

enum glimp_policy {
    GLIMP_POLICY_GLIMP = 0,      /* signal > tau: the LLM writes (static tau) */
    GLIMP_POLICY_SHARE = 1,      /* tau follows a running quantile: a target LLM share */
    GLIMP_POLICY_INSTANCE = 2,   /* tau = mean + z * sd of this problem's first k steps */
    GLIMP_POLICY_RANDOM = 3,     /* the LLM with probability share (seeded) */
    GLIMP_POLICY_SLM = 4,        /* the SLM alone */
    GLIMP_POLICY_LLM = 5,        /* the LLM alone */
    GLIMP_POLICY_SPECREASON = 6, /* the SLM writes, the LLM scores 0-9, rewrites below threshold */
};

/* What the glimp, share and instance policies compare with tau. */
enum glimp_signal {
    GLIMP_SIGNAL_HINIT = 0, /* the largest entropy of the SLM's first `glimpse` tokens (1: H_init) */
    GLIMP_SIGNAL_HSTEP = 1, /* mean entropy over the SLM's whole step */
    GLIMP_SIGNAL_PPL = 2,   /* perplexity of the SLM's whole step */
};

/* Where a thinking step ends. */
enum glimp_segment {
    GLIMP_SEGMENT_BLANK = 0,  /* at a blank line, "\n\n" (the paper's rule; default) */
    GLIMP_SEGMENT_LINE = 1,   /* at every newline after the step's first byte */
    /* at a blank line, and also just before text matching segment_marker (a
     * PCRE2 pattern) that starts after the step's first token: the tokens
     * from the one holding the match's first byte on begin the next step,
     * so the next glimpse sees them (e.g. "Wait", or a result) */
    GLIMP_SEGMENT_MARKER = 2,
};

/* The longest marker pattern, its NUL included. */
#define GLIMP_SEGMENT_MARKER_MAX 256

enum glimp_phase { GLIMP_PHASE_THINK = 0, GLIMP_PHASE_ANSWER = 1 };

/* Why thinking ended. */
enum glimp_think_end {
    GLIMP_THINK_NONE = 0,      /* no thinking (think off) */
    GLIMP_THINK_TAG = 1,       /* a model wrote </think> */
    GLIMP_THINK_REPEAT = 2,    /* two identical steps in a row */
    GLIMP_THINK_BUDGET = 3,    /* max_think tokens spent */
    GLIMP_THINK_EOS = 4,       /* a model ended its turn while thinking */
    GLIMP_THINK_STOPPED = 5,   /* the caller asked to stop */
};

/* One step as it happened. text (NUL-terminated, text_len bytes) is valid
 * only during the callback; glimp_router_result keeps copies. */
struct glimp_step_event {
    uint32_t index; /* 0, 1, ... over the whole run (the answer is the last) */
    enum glimp_phase phase;
    enum glimp_writer writer;
    double h_init;    /* the SLM's first-token entropy (nats); NaN when not computed */
    double signal;    /* the value the policy compared (H_init, glimpse max, H_step, PPL,
                         SpecReason score); NaN when none */
    double tau;       /* threshold in force; NaN for slm, llm, random */
    bool rewritten;   /* the SLM's tokens were rolled back and the LLM wrote it */
    uint32_t n_tokens;
    const char *text;
    size_t text_len;
    double probe_s, sync_s, write_s; /* seconds: signal, ingesting, writing */
    uint32_t draft_proposed, draft_accepted;
    /* With label_steps: 1 when the other model, from the same prefix, writes
     * the same text (an easy step), 0 when not; -1 unlabelled. */
    int easy;
};

/* Return false to stop the run (it then ends cleanly with what it has). */
typedef bool (*glimp_step_cb)(const struct glimp_step_event *ev, void *user);

/* One token of the output as it is written, for streaming: a token is
 * passed on once its step's writer is settled (tokens a glimpse or a
 * SpecReason judge throws away are never passed on). piece is valid only
 * during the callback. */
struct glimp_token_event {
    uint32_t step; /* the index its step will have */
    enum glimp_phase phase;
    enum glimp_writer writer;
    double h_init; /* its step's H_init (NaN when none) */
    int32_t id;    /* in the writer's vocabulary */
    const char *piece; /* its bytes in the text (may split a UTF-8 character) */
    size_t len;
};

/* Return false to stop the run after this token. */
typedef bool (*glimp_token_cb)(const struct glimp_token_event *ev, void *user);

struct glimp_router_params {
    enum glimp_policy policy;   /* default GLIMP */
    enum glimp_signal signal;   /* default HINIT */
    uint32_t glimpse;           /* >= 1; default 1 (hinit only) */
    double tau;                 /* glimp (and instance before calibration); default 1.0;
                                   +-INFINITY allowed */
    double share;               /* share and random: LLM share in [0, 1]; default 0.25 */
    uint32_t instance_k;        /* instance: calibration steps; default 4 */
    double instance_z;          /* instance: default 1.0 */
    double specreason_threshold; /* specreason: accept at score >= this; default 7 */
    uint32_t entropy_topk;      /* entropy over the top k renormalised; 0: full; default 20 */
    uint32_t draft;             /* speculative decoding in LLM steps: tokens drafted; 0: off */
    uint32_t max_think;         /* thinking budget in tokens; default 8192 */
    uint32_t max_step;          /* tokens per step; default 512 */
    uint32_t max_answer;        /* answer budget in tokens; default 2048 */
    enum glimp_segment segment; /* where a thinking step ends; default BLANK */
    /* MARKER: the pattern (UTF-8, NUL-terminated; a value, so params copy
     * whole); "" otherwise */
    char segment_marker[GLIMP_SEGMENT_MARKER_MAX];
    enum glimp_writer answer_model; /* default LLM */
    struct glimp_sampler_params sampling; /* default T 0.6, top-p 0.95, top-k 0, min-p 0;
                                             its seed must be 0 or equal seed */
    uint64_t seed;              /* sampling (model w's sampler: seed * 2 + w) and the
                                   random policy; default 0 */
    bool chat;                  /* prompt as one user message through the chat template;
                                   default true */
    /* With chat: the conversation instead of one user message (the prompt
     * is then not read, "" will do), rendered through each model's own
     * chat template with its generation prompt; read by glimp_request_init
     * only, so it must live that long. NULL (default): the prompt. */
    const struct glimp_chat_message *messages;
    size_t n_messages;
    bool think;                 /* thinking on; default true */
    uint32_t n_ctx;             /* tokens per sequence; 0: each model's default */
    glimp_step_cb on_step;      /* glimp_router_run: after each step; may be NULL */
    glimp_token_cb on_token;    /* each token as it is written; may be NULL */
    void *user;                 /* passed to both */
    /* Polled between tokens; nonzero stops the run cleanly (Ctrl-C; an
     * atomic store is safe from a signal handler). May be NULL. */
    const atomic_int *cancel;
    /* Label each thinking step easy or hard (glimp_step_event.easy): the
     * model that did not write it writes it too from the same prefix, and
     * the texts are compared; then that is rolled back. Costs a second
     * writing of every step; its time is left out of every time reported
     * (summary.label_s says how much). Under sampling it changes the draws
     * that follow. Default false. */
    bool label_steps;
    /* Policy state carried from run to run (glimp_policy_state_init), so
     * that the share policy's running quantile and random routing's coins
     * span every problem, not each problem alone; NULL: a fresh state for
     * each run. */
    struct glimp_policy_state *policy_state;
};

GLIMP_API struct glimp_router_params glimp_router_default_params(void);

/* A policy's state, to share across runs through params.policy_state: the
 * share policy's history of signals and its LLM count, and the random
 * stream of random routing, carry on from problem to problem (instance
 * calibration starts over with each run). Without it, runs with one seed
 * draw the same coins: random routing sends the same steps of every
 * problem to the LLM. Made from the params the runs use (policy, tau,
 * share, ...); one run at a time. */
struct glimp_policy_state;
GLIMP_API int glimp_policy_state_init(const struct glimp_router_params *p, struct glimp_policy_state **out);
GLIMP_API void glimp_policy_state_free(struct glimp_policy_state *s); /* accepts NULL */
/* Take one decision made earlier (its step's signal, as the run recorded
 * it) into the state, as the run that made it did: the policy's history,
 * counts and random stream move on exactly as then, so that runs
 * resumed from a record route as an unbroken series would. Returns the
 * writer the decision picks, which equals the recorded one when the replay
 * is faithful. */
GLIMP_API enum glimp_writer glimp_policy_state_replay(struct glimp_policy_state *s, double signal);

struct glimp_router_summary {
    uint32_t steps_slm, steps_llm;   /* thinking steps by writer */
    uint64_t tokens_slm, tokens_llm; /* tokens kept, by writer (answer included) */
    uint32_t rewrites;               /* SLM steps rolled back and rewritten */
    double llm_share_steps, llm_share_tokens;
    double wall_s, slm_s, llm_s, sync_s, overhead_s; /* overhead: the rest of wall */
    double ttft_s;  /* from the start to the first generated token */
    double label_s; /* spent labelling steps (label_steps), not in wall_s */
    uint64_t draft_proposed, draft_accepted;
    double draft_accept_rate; /* NaN when nothing was drafted */
    enum glimp_think_end think_end;
    bool stopped; /* the callback or cancel ended the run early */
    bool ctx_full; /* a sequence ran out of context; the run ended there */
};

struct glimp_router_result {
    char *reasoning; /* the thinking steps' text, as written */
    char *answer;
    struct glimp_step_event *steps; /* with their own copies of the text */
    size_t n_steps;
    /* The generated token ids (steps, glimp's own think-closing text, the
     * answer) in the order they were written; only when both models share a
     * vocabulary, else NULL. */
    int32_t *ids;
    size_t n_ids;
    struct glimp_router_summary summary;
};

/* Check that two backends can work together: the same vocabulary means
 * token ids pass between them, a different one means step text does (then
 * speculative decoding is refused). Sets *shared. */
GLIMP_API int glimp_router_check_vocab(const struct glimp_backend *slm, const struct glimp_backend *llm,
                             bool *shared);

/* A request: one problem advanced a step at a time, so that a caller can
 * stream its tokens, interleave many requests and stop one at any step. */
struct glimp_request;

/* Make a request: the prompt (rendered with each model's chat template when
 * p->chat; p NULL: defaults; p is copied), thinking in steps routed by the
 * policy, then the answer. Fails with GLIMP_ERR_INVALID for bad params
 * (naming them), draft > 0 with different vocabularies,
 * GLIMP_ERR_UNSUPPORTED for a setting a backend cannot honour (entropy
 * full or drafting without a full distribution, naming the backend),
 * GLIMP_ERR_RANGE for a prompt longer than the context, plus backend
 * errors. The backends must outlive the request; one thread at a time
 * drives it. */
GLIMP_API int glimp_request_init(struct glimp_backend *slm, struct glimp_backend *llm, const char *prompt,
                       const struct glimp_router_params *p, struct glimp_request **out);
GLIMP_API void glimp_request_free(struct glimp_request *q); /* accepts NULL */
/* Take the next step: a thinking step, or once thinking ends the answer.
 * *ev is the step made (valid until the next call), or NULL when the
 * request ended without one (stopped, budget or context used up); then,
 * and after the answer, glimp_request_done is true. A failed step ends the
 * request. */
GLIMP_API int glimp_request_step(struct glimp_request *q, const struct glimp_step_event **ev);
GLIMP_API bool glimp_request_done(const struct glimp_request *q); /* NULL: true */
/* Stop the request at its next token: safe from any thread. The next
 * glimp_request_step ends it (summary.stopped). */
GLIMP_API void glimp_request_cancel(struct glimp_request *q);
/* Hand over the result of a done request (once; the caller frees it). */
GLIMP_API int glimp_request_result(struct glimp_request *q, struct glimp_router_result **out);

/* Run one problem to its end: a loop over glimp_request_step, calling
 * p->on_step after each step. When the callback or cancel stops the run,
 * it still returns GLIMP_OK with the partial result (summary.stopped). */
GLIMP_API int glimp_router_run(struct glimp_backend *slm, struct glimp_backend *llm, const char *prompt,
                     const struct glimp_router_params *p, struct glimp_router_result **out);
GLIMP_API void glimp_router_result_free(struct glimp_router_result *r); /* accepts NULL */

/* Set p's segmentation from text: "blank", "line" or "marker:REGEX" (the
 * pattern compiled here to check it). GLIMP_ERR_INVALID saying what is
 * wrong (an unknown kind, a pattern too long or that does not compile,
 * with where); p is unchanged then. */
GLIMP_API int glimp_segment_parse(const char *text, struct glimp_router_params *p);
/* p's segmentation as glimp_segment_parse reads it, into buf (cap bytes);
 * GLIMP_ERR_RANGE when it does not fit. */
GLIMP_API int glimp_segment_format(const struct glimp_router_params *p, char *buf, size_t cap);

GLIMP_API const char *glimp_policy_name(enum glimp_policy p);   /* "glimp", ... */
GLIMP_API const char *glimp_signal_name(enum glimp_signal s);   /* "hinit", ... */
/* The enum a name stands for (the names above); false for any other text. */
GLIMP_API bool glimp_policy_parse(const char *name, enum glimp_policy *out);
GLIMP_API bool glimp_signal_parse(const char *name, enum glimp_signal *out);
GLIMP_API const char *glimp_segment_name(enum glimp_segment s); /* "blank", "line", "marker" */
GLIMP_API const char *glimp_writer_name(enum glimp_writer w);   /* "slm", "llm" */
GLIMP_API const char *glimp_think_end_name(enum glimp_think_end e); /* "tag", "repeat", ... */

/* --------------------------------------------------------- routing profiles */

/* A profile is a small JSON file of routing settings, as glimp tune writes
 * it and glimp run, eval and serve read it (--profile FILE):
 *
 *   {"glimp_profile": 1, "name": "demo",
 *    "policy": "glimp", "signal": "hinit", "glimpse": 1, "tau": 0.5,
 *    "share": 0.25, "instance_k": 4, "instance_z": 1.0, "threshold": 7,
 *    "entropy": "topk:20", "draft": 0, "segment": "blank",
 *    "max_think": 512, "max_step": 48, "max_answer": 16, "answer_model": "llm",
 *    "pair": {"slm": {"desc": "...", "n_vocab": 100, "vocab_hash": "..."},
 *             "llm": {...}},
 *    "tuned": {...}}
 *
 * glimp_profile (the format's version, 1) is required; every other field
 * is optional, and one left out keeps the value of the params the profile
 * is loaded over. policy, signal, answer_model are the names
 * glimp_*_name gives; tau may be "inf" or "-inf"; entropy is "full" or
 * "topk:K"; segment is glimp_segment_parse's text; vocab_hash is 16 hex
 * digits. "tuned" says how the profile was chosen (any JSON object; glimp
 * tune writes its target, the data and what it measured). Sampling, chat
 * and the context are not routing settings: the caller keeps its own. */

/* A model of the pair a profile was tuned on. */
struct glimp_profile_model {
    char desc[256];      /* glimp_backend_describe; "" when not recorded */
    uint32_t n_vocab;    /* 0 when not recorded */
    uint64_t vocab_hash; /* glimp_backend_vocab_hash; 0 when not recorded */
};

/* What a profile says beside its settings. */
struct glimp_profile_info {
    char name[64]; /* "" when none */
    struct glimp_profile_model slm, llm;
    char tuned[2048]; /* the "tuned" object as compact JSON; "" when none */
};

/* Read a profile file and apply its settings over *p (info, which may be
 * NULL, gets the rest). Every field is checked before anything changes:
 * on failure *p and *info are as they were, with GLIMP_ERR_IO when the
 * file cannot be read and GLIMP_ERR_FORMAT naming the file and the field
 * ("tune.json: field 'tau': expected a number, \"inf\" or \"-inf\"";
 * "unknown field 'tua'"). */
GLIMP_API int glimp_profile_load(const char *path, struct glimp_router_params *p,
                       struct glimp_profile_info *info);
/* The same from len bytes of JSON text; origin names it in messages. */
GLIMP_API int glimp_profile_parse(const char *text, size_t len, const char *origin,
                        struct glimp_router_params *p, struct glimp_profile_info *info);
/* Write p's routing settings and info (may be NULL) as a profile file
 * (replaced when it exists). GLIMP_ERR_IO; GLIMP_ERR_FORMAT when
 * info->tuned is not a JSON object. */
GLIMP_API int glimp_profile_write(const char *path, const struct glimp_router_params *p,
                        const struct glimp_profile_info *info);
/* Record a pair in info (desc, n_vocab, vocab hash of each). */
GLIMP_API void glimp_profile_set_pair(struct glimp_profile_info *info, const struct glimp_backend *slm,
                            const struct glimp_backend *llm);
/* Was the profile tuned on this pair? True when it was, or when it records
 * no pair; false with why (one line for a warning: which model differs,
 * its vocabulary or its description) otherwise. */
GLIMP_API bool glimp_profile_check_pair(const struct glimp_profile_info *info,
                              const struct glimp_backend *slm, const struct glimp_backend *llm,
                              char *why, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* GLIMP_H */

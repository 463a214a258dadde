/* vocab.h - the vocabulary a test model carries: tokens, token types, BPE
 * merges, special token ids and the chat template, either built in (a small
 * byte-level BPE with ChatML specials) or read from a Hugging Face
 * tokenizer.json the way llama.cpp's convert_hf_to_gguf.py reads it. */
#ifndef GLIMP_TESTMODEL_VOCAB_H
#define GLIMP_TESTMODEL_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Token types as GGUF files store them (llama.cpp's llama_token_type). */
enum tm_token_type {
    TM_TOKEN_NORMAL = 1,
    TM_TOKEN_UNKNOWN = 2,
    TM_TOKEN_CONTROL = 3,
    TM_TOKEN_USER_DEFINED = 4,
    TM_TOKEN_UNUSED = 5,
    TM_TOKEN_BYTE = 6,
};

/* Ids above this are refused: a vocabulary is dense from 0, so a larger id
 * would mean millions of padding tokens. */
#define TM_VOCAB_MAX_ID (1u << 24)

struct tm_named_template {
    char *name; /* "tool_use"; written as tokenizer.chat_template.<name> */
    char *text;
};

struct tm_vocab {
    uint32_t n_tokens;
    char **tokens;  /* n_tokens NUL-terminated strings, id order */
    int32_t *types; /* n_tokens enum tm_token_type values */
    uint32_t n_merges;
    char **merges;  /* "a b", rank order */
    int64_t bos_id; /* -1: not set */
    int64_t eos_id;
    int64_t unk_id;
    int64_t pad_id;
    bool add_bos;
    char *chat_template; /* NULL: none */
    uint32_t n_named_templates;
    struct tm_named_template *named_templates;
};

/* The built-in vocabulary: the 256 byte tokens of GPT-2's byte-to-unicode
 * map (ids 0..255 in GPT-2's order), a few dozen English merges and the
 * Qwen3 specials <|endoftext|>, <|im_start|>, <|im_end|>, <think>, </think>,
 * with a ChatML template. Fails only with GLIMP_ERR_NOMEM. */
int tm_vocab_builtin(struct tm_vocab *v);

/* A vocabulary from a Hugging Face tokenizer.json and, when config_path is
 * not NULL, its tokenizer_config.json (special tokens, add_bos_token, chat
 * template). arch ("qwen3", "qwen2", "llama") supplies what config.json
 * would: BOS is <|endoftext|> for the Qwen families, and add_bos_token
 * defaults to true for llama and false otherwise. Malformed input fails with
 * GLIMP_ERR_FORMAT naming the file and the problem; an unreadable file with
 * GLIMP_ERR_IO. */
int tm_vocab_from_hf(const char *tokenizer_path, const char *config_path, const char *arch,
                     struct tm_vocab *v);

/* The same from the two files' bytes in memory (config_json may be NULL);
 * messages name them "tokenizer.json" and "tokenizer_config.json". */
int tm_vocab_from_hf_memory(const char *tokenizer_json, size_t tokenizer_len,
                            const char *config_json, size_t config_len, const char *arch,
                            struct tm_vocab *v);

void tm_vocab_free(struct tm_vocab *v); /* accepts a zeroed or freed vocab */

#endif

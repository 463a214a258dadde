/* fuzz_tokenizer_json.c - libFuzzer target for reading a Hugging Face
 * tokenizer.json (and tokenizer_config.json) into a test model vocabulary.
 * Input: the tokenizer.json bytes, optionally followed by a NUL byte and the
 * tokenizer_config.json bytes. Any input must be accepted or rejected with a
 * message; an accepted vocabulary must be self-consistent. */
#include "glimp.h"
#include "testmodel/vocab.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tok = (const char *)data;
    const uint8_t *nul = memchr(data, 0, size);
    size_t tok_len = nul ? (size_t)(nul - data) : size;
    const char *cfg = nul ? (const char *)nul + 1 : NULL;
    size_t cfg_len = nul ? size - tok_len - 1 : 0;
    static const char *const archs[] = {"qwen3", "llama"};
    struct tm_vocab v;
    int err = tm_vocab_from_hf_memory(tok, tok_len, cfg, cfg_len, archs[size % 2], &v);
    if (err != GLIMP_OK) {
        if (glimp_last_error()[0] == '\0')
            abort();
        return 0;
    }
    for (uint32_t i = 0; i < v.n_tokens; i++)
        if (!v.tokens[i] || v.types[i] < 1 || v.types[i] > 6)
            abort();
    for (uint32_t i = 0; i < v.n_merges; i++)
        if (!strchr(v.merges[i], ' '))
            abort();
    if (v.bos_id >= (int64_t)v.n_tokens || v.eos_id >= (int64_t)v.n_tokens ||
        v.pad_id >= (int64_t)v.n_tokens)
        abort();
    tm_vocab_free(&v);
    return 0;
}

/* vocab.c - vocabularies for test models: a small built-in byte-level BPE,
 * or a Hugging Face tokenizer.json + tokenizer_config.json turned into GGUF
 * token lists with the token types, merges and special ids that llama.cpp's
 * convert_hf_to_gguf.py (get_vocab_base, gguf-py SpecialVocab) writes. */
#include "testmodel/vocab.h"

#include "chat/builtin.h"

#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- utilities */

/* Append the UTF-8 encoding of cp (< 0x800 here) and return the new end. */
static char *put_utf8(char *p, unsigned cp)
{
    if (cp < 0x80) {
        *p++ = (char)cp;
    } else {
        *p++ = (char)(0xC0 | (cp >> 6));
        *p++ = (char)(0x80 | (cp & 0x3F));
    }
    return p;
}

void tm_vocab_free(struct tm_vocab *v)
{
    if (!v)
        return;
    if (v->tokens)
        for (uint32_t i = 0; i < v->n_tokens; i++)
            free(v->tokens[i]);
    free(v->tokens);
    free(v->types);
    if (v->merges)
        for (uint32_t i = 0; i < v->n_merges; i++)
            free(v->merges[i]);
    free(v->merges);
    free(v->chat_template);
    for (uint32_t i = 0; i < v->n_named_templates; i++) {
        free(v->named_templates[i].name);
        free(v->named_templates[i].text);
    }
    free(v->named_templates);
    memset(v, 0, sizeof *v);
    v->bos_id = v->eos_id = v->unk_id = v->pad_id = -1;
}

static void vocab_init(struct tm_vocab *v)
{
    memset(v, 0, sizeof *v);
    v->bos_id = v->eos_id = v->unk_id = v->pad_id = -1;
}

/* ------------------------------------------------------ built-in vocabulary */

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes map in order to U+0100.. . Token id i of a GPT-2 style
 * vocabulary is the i-th of: '!'..'~', 0xA1..0xAC, 0xAE..0xFF, then the
 * remapped bytes 0x00..0x20, 0x7F..0xA0, 0xAD. */
static bool byte_is_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* The code point of byte-level token id (0..255), and its byte. */
static unsigned gpt2_token_codepoint(unsigned id)
{
    unsigned k = 0;
    for (unsigned b = 0; b < 256; b++)
        if (byte_is_printable(b) && k++ == id)
            return b;
    unsigned n = 0;
    for (unsigned b = 0; b < 256; b++) {
        if (byte_is_printable(b))
            continue;
        if (k++ == id)
            return 0x100 + n;
        n++;
    }
    return 0; /* not reached for id < 256 */
}

#define G "\xC4\xA0"  /* U+0120, the byte-level form of ' ' */
#define NL "\xC4\x8A" /* U+010A, '\n' */

/* Merge rank k makes token id 256 + k; each part exists before its merge. */
static const char *const builtin_merges[] = {
    G " t",  G " a",  "h e",   "i n",  "r e",    "o n",     G "t he", "e r",  G " s",  "a t",
    G " w",  G " o",  "e n",   G " c", "i t",    "i s",     "a n",    "o r",  "e s",   G " b",
    "e d",   G " f",  "in g",  G " p", "o u",    G "a n",   "a l",    "a r",  G "t o", G " m",
    G "o f", G " in", G " d",  G " h", G "an d", NL " " NL, G " =",   G " +", "S o",   "W a",
    "Wa it", G " x",  G " is", "l l",  G "s o",  G " " G,   "B u",    "Bu t",
};

#define N_BUILTIN_MERGES (sizeof builtin_merges / sizeof builtin_merges[0])

static const struct {
    const char *text;
    int32_t type;
} builtin_specials[] = {
    {"<|endoftext|>", TM_TOKEN_CONTROL}, {"<|im_start|>", TM_TOKEN_CONTROL},
    {"<|im_end|>", TM_TOKEN_CONTROL},    {"<think>", TM_TOKEN_USER_DEFINED},
    {"</think>", TM_TOKEN_USER_DEFINED},
};

#define N_BUILTIN_SPECIALS (sizeof builtin_specials / sizeof builtin_specials[0])

int tm_vocab_builtin(struct tm_vocab *v)
{
    vocab_init(v);
    uint32_t n = 256 + (uint32_t)N_BUILTIN_MERGES + (uint32_t)N_BUILTIN_SPECIALS;
    v->tokens = calloc(n, sizeof *v->tokens);
    v->types = calloc(n, sizeof *v->types);
    v->merges = calloc(N_BUILTIN_MERGES, sizeof *v->merges);
    if (!v->tokens || !v->types || !v->merges)
        goto nomem;
    v->n_tokens = n;
    v->n_merges = (uint32_t)N_BUILTIN_MERGES;

    uint32_t id = 0;
    for (; id < 256; id++) {
        char buf[4];
        *put_utf8(buf, gpt2_token_codepoint(id)) = '\0';
        if (!(v->tokens[id] = buf_strdup(buf)))
            goto nomem;
        v->types[id] = TM_TOKEN_NORMAL;
    }
    for (uint32_t k = 0; k < N_BUILTIN_MERGES; k++, id++) {
        const char *m = builtin_merges[k];
        const char *sp = strchr(m, ' ');
        size_t na = (size_t)(sp - m), nb = strlen(sp + 1);
        if (!(v->merges[k] = buf_strdup(m)) || !(v->tokens[id] = malloc(na + nb + 1)))
            goto nomem;
        memcpy(v->tokens[id], m, na);
        memcpy(v->tokens[id] + na, sp + 1, nb + 1);
        v->types[id] = TM_TOKEN_NORMAL;
    }
    for (uint32_t k = 0; k < N_BUILTIN_SPECIALS; k++, id++) {
        if (!(v->tokens[id] = buf_strdup(builtin_specials[k].text)))
            goto nomem;
        v->types[id] = builtin_specials[k].type;
    }
    uint32_t first_special = 256 + (uint32_t)N_BUILTIN_MERGES;
    v->bos_id = first_special;     /* <|endoftext|>, as Qwen's config.json */
    v->eos_id = first_special + 2; /* <|im_end|>, as Qwen3's tokenizer_config */
    v->pad_id = first_special;
    v->add_bos = false;
    if (!(v->chat_template = buf_strdup(chat_builtin_template)))
        goto nomem;
    return GLIMP_OK;
nomem:
    tm_vocab_free(v);
    return glimp_error(GLIMP_ERR_NOMEM, "built-in vocabulary: out of memory");
}

/* ------------------------------------------------ Hugging Face tokenizers */

/* flags: JSON_DECODE_INT_AS_REAL for tokenizer_config.json, whose
 * model_max_length can be 1e30 written as an integer (Llama 3). */
static int check_json(const char *path, json_t *j, const json_error_t *e, json_t **out);

static int load_json(const char *path, size_t flags, json_t **out)
{
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES | flags, &err);
    return check_json(path, j, &err, out);
}

static int parse_json(const char *name, const char *data, size_t len, size_t flags, json_t **out)
{
    json_error_t err;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES | flags, &err);
    return check_json(name, j, &err, out);
}

static int check_json(const char *path, json_t *j, const json_error_t *e, json_t **out)
{
    json_error_t err = *e;
    if (!j) {
        if (json_error_code(&err) == json_error_cannot_open_file)
            return glimp_error(GLIMP_ERR_IO, "%s: cannot open: %s", path, err.text);
        return glimp_error(GLIMP_ERR_FORMAT, "%s:%d:%d: not valid JSON: %s", path, err.line,
                           err.column, err.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return glimp_error(GLIMP_ERR_FORMAT, "%s: top level is not a JSON object", path);
    }
    *out = j;
    return GLIMP_OK;
}

/* llama.cpp's does_token_look_special: added tokens that are not marked
 * special but are treated as control tokens anyway. */
static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *x)
{
    size_t ns = strlen(s), nx = strlen(x);
    return ns >= nx && memcmp(s + ns - nx, x, nx) == 0;
}

static bool token_looks_special(const char *t)
{
    if (!strcmp(t, "<pad>") || !strcmp(t, "<mask>") || !strcmp(t, "<2mass>") ||
        !strcmp(t, "[@BOS@]"))
        return true;
    if (has_prefix(t, "<|") && has_suffix(t, "|>") && strlen(t) >= 4)
        return true;
    /* fullwidth bars, U+FF5C, as DeepSeek writes them */
    if (has_prefix(t, "<\xEF\xBD\x9C") && has_suffix(t, "\xEF\xBD\x9C>") && strlen(t) >= 8)
        return true;
    return has_prefix(t, "<unused") && has_suffix(t, ">");
}

/* User-defined tokens are stored pre-normalised: U+2581 becomes ' '. */
static char *dup_user_defined(const char *t)
{
    char *out = malloc(strlen(t) + 1), *p = out;
    if (!out)
        return NULL;
    while (*t) {
        if (has_prefix(t, "\xE2\x96\x81")) {
            *p++ = ' ';
            t += 3;
        } else {
            *p++ = *t++;
        }
    }
    *p = '\0';
    return out;
}

/* A merge as one "a b" string. Pairs (transformers >= 4.45) have any space
 * inside a part encoded as U+0120, as gguf-py does. */
static char *merge_from_pair(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *out = malloc(2 * (na + nb) + 2), *p = out;
    if (!out)
        return NULL;
    const char *parts[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (k == 1)
            *p++ = ' ';
        for (const char *s = parts[k]; *s; s++) {
            if (*s == ' ')
                p = put_utf8(p, 0x120);
            else
                *p++ = *s;
        }
    }
    *p = '\0';
    return out;
}

/* A JSON integer id in [0, TM_VOCAB_MAX_ID). */
static int get_id(const char *path, const char *what, const char *tok, json_t *j, uint32_t *id)
{
    if (!json_is_integer(j))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: %s '%s': id is a %s, not an integer", path, what,
                           tok, json_is_string(j) ? "string" : "non-integer");
    json_int_t x = json_integer_value(j);
    if (x < 0 || x >= (json_int_t)TM_VOCAB_MAX_ID)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: %s '%s': id %lld out of range [0, %u)", path,
                           what, tok, (long long)x, TM_VOCAB_MAX_ID);
    *id = (uint32_t)x;
    return GLIMP_OK;
}

struct added_token {
    const char *content; /* inside the JSON document */
    uint32_t id;
    bool special;
};

/* The id of the first added token whose content is text, or -1 (SpecialVocab
 * looks special tokens up among the added tokens only). */
static int64_t find_added(const struct added_token *at, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(at[i].content, text))
            return at[i].id;
    return -1;
}

/* tokenizer_config.json's <typ>_token: a string, {"content": ...}, null or
 * absent. *text is NULL when there is none. */
static int config_token(const char *path, json_t *cfg, const char *key, const char **text)
{
    *text = NULL;
    json_t *e = json_object_get(cfg, key);
    if (!e || json_is_null(e))
        return GLIMP_OK;
    if (json_is_string(e)) {
        *text = json_string_value(e);
        return GLIMP_OK;
    }
    if (json_is_object(e)) {
        json_t *c = json_object_get(e, "content");
        if (json_is_string(c)) {
            *text = json_string_value(c);
            return GLIMP_OK;
        }
    }
    return glimp_error(GLIMP_ERR_FORMAT,
                       "%s: %s must be a string, an object with a string 'content', or null", path,
                       key);
}

static int read_chat_template(const char *path, json_t *cfg, struct tm_vocab *v)
{
    json_t *t = json_object_get(cfg, "chat_template");
    if (!t || json_is_null(t))
        return GLIMP_OK;
    if (json_is_string(t)) {
        v->chat_template = buf_strdup(json_string_value(t));
        return v->chat_template ? GLIMP_OK
                                : glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
    }
    if (!json_is_array(t))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: chat_template must be a string or a list", path);
    /* A list of {"name", "template"}: "default" is tokenizer.chat_template,
     * the others tokenizer.chat_template.<name>. */
    size_t n = json_array_size(t);
    v->named_templates = calloc(n ? n : 1, sizeof *v->named_templates);
    if (!v->named_templates)
        return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(t, i);
        json_t *name = json_object_get(e, "name"), *text = json_object_get(e, "template");
        if (!json_is_string(name) || !json_is_string(text))
            return glimp_error(GLIMP_ERR_FORMAT,
                               "%s: chat_template[%zu] needs string 'name' and 'template'", path,
                               i);
        const char *nm = json_string_value(name);
        if (!strcmp(nm, "default")) {
            free(v->chat_template);
            if (!(v->chat_template = buf_strdup(json_string_value(text))))
                return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
            continue;
        }
        if (nm[0] == '\0' || strchr(nm, '.'))
            return glimp_error(GLIMP_ERR_FORMAT, "%s: chat_template[%zu]: bad name '%s'", path, i,
                               nm);
        struct tm_named_template *nt = &v->named_templates[v->n_named_templates];
        nt->name = buf_strdup(nm);
        nt->text = buf_strdup(json_string_value(text));
        v->n_named_templates++;
        if (!nt->name || !nt->text)
            return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
    }
    return GLIMP_OK;
}

/* add_bos when tokenizer_config.json says nothing: SpecialVocab's reading of
 * a TemplateProcessing post-processor whose single sequence starts with the
 * BOS token. -1 when the post-processor says nothing either. */
static int post_processor_add_bos(json_t *tok, const char *bos_text)
{
    json_t *pp = json_object_get(tok, "post_processor");
    if (!json_is_object(pp))
        return -1;
    json_t *list = json_object_get(pp, "processors");
    size_t n = json_is_array(list) ? json_array_size(list) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_is_array(list) ? json_array_get(list, i) : pp;
        json_t *type = json_object_get(p, "type");
        if (!json_is_string(type) || strcmp(json_string_value(type), "TemplateProcessing"))
            continue;
        json_t *single = json_object_get(p, "single");
        if (!json_is_array(single) || json_array_size(single) < 2)
            continue;
        json_t *first =
            json_object_get(json_object_get(json_array_get(single, 0), "SpecialToken"), "id");
        if (!json_is_string(first))
            continue;
        return bos_text && !strcmp(json_string_value(first), bos_text);
    }
    return -1;
}

static int read_config(const char *path, json_t *cfg, const char *arch,
                       const struct added_token *at, size_t n_at, json_t *tok, struct tm_vocab *v)
{
    static const char *const keys[] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    int64_t *ids[] = {&v->bos_id, &v->eos_id, &v->unk_id, &v->pad_id};
    const char *bos_text = NULL;
    int rc;

    for (size_t i = 0; i < 4; i++) {
        const char *text = NULL;
        if (cfg && (rc = config_token(path, cfg, keys[i], &text)) != GLIMP_OK)
            return rc;
        if (i == 0)
            bos_text = text;
        if (text)
            *ids[i] = find_added(at, n_at, text);
    }
    /* What config.json contributes for these families (its bos_token_id). */
    bool qwen = !strcmp(arch, "qwen2") || !strcmp(arch, "qwen3");
    if (qwen && v->bos_id < 0)
        v->bos_id = find_added(at, n_at, "<|endoftext|>");

    json_t *ab = cfg ? json_object_get(cfg, "add_bos_token") : NULL;
    if (ab && !json_is_null(ab)) {
        if (!json_is_boolean(ab))
            return glimp_error(GLIMP_ERR_FORMAT, "%s: add_bos_token must be true or false", path);
        v->add_bos = json_is_true(ab);
    } else {
        int pp = post_processor_add_bos(tok, bos_text);
        /* llama.cpp's own default for each pre-tokenizer */
        v->add_bos = pp >= 0 ? pp == 1 : !qwen;
    }
    return cfg ? read_chat_template(path, cfg, v) : GLIMP_OK;
}

static int read_merges(const char *path, json_t *merges, struct tm_vocab *v)
{
    if (!json_is_array(merges))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: model.merges is %s, not an array", path,
                           merges ? "present" : "missing");
    size_t n = json_array_size(merges);
    if (n >= TM_VOCAB_MAX_ID)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: model.merges has %zu entries, too many", path, n);
    v->merges = calloc(n ? n : 1, sizeof *v->merges);
    if (!v->merges)
        return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(merges, i);
        char *s = NULL;
        if (json_is_string(m)) {
            const char *t = json_string_value(m);
            const char *sp = strchr(t, ' ');
            if (!sp || sp == t || sp[1] == '\0' || strchr(sp + 1, ' '))
                return glimp_error(GLIMP_ERR_FORMAT,
                                   "%s: model.merges[%zu] '%s' is not two parts split by one "
                                   "space",
                                   path, i, t);
            s = buf_strdup(t);
        } else if (json_is_array(m) && json_array_size(m) == 2 &&
                   json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
            const char *a = json_string_value(json_array_get(m, 0));
            const char *b = json_string_value(json_array_get(m, 1));
            if (!*a || !*b)
                return glimp_error(GLIMP_ERR_FORMAT, "%s: model.merges[%zu] has an empty part",
                                   path, i);
            s = merge_from_pair(a, b);
        } else {
            return glimp_error(GLIMP_ERR_FORMAT,
                               "%s: model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", path,
                               i);
        }
        if (!s)
            return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
        v->merges[v->n_merges++] = s;
    }
    return GLIMP_OK;
}

/* Everything after the JSON is loaded; the caller frees v on failure. */
static int build_from_hf(const char *path, json_t *tok, const char *config_path, json_t *cfg,
                         const char *arch, struct tm_vocab *v)
{
    json_t *model = json_object_get(tok, "model");
    if (!json_is_object(model))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: 'model' is %s, not an object", path,
                           model ? "present" : "missing");
    json_t *mtype = json_object_get(model, "type");
    if (mtype && (!json_is_string(mtype) || strcmp(json_string_value(mtype), "BPE")))
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "%s: model.type is %s; only BPE is supported",
                           path, json_is_string(mtype) ? json_string_value(mtype) : "not a string");
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: model.vocab is %s, not an object", path,
                           vocab ? "present" : "missing");
    json_t *added = json_object_get(tok, "added_tokens");
    if (added && !json_is_array(added) && !json_is_null(added))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: added_tokens is not an array", path);
    size_t n_added = json_is_array(added) ? json_array_size(added) : 0;

    /* Pass 1: check every id and find the largest. */
    uint32_t max_id = 0;
    bool any = false;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val)
    {
        uint32_t id = 0;
        int rc = get_id(path, "model.vocab token", key, val, &id);
        if (rc != GLIMP_OK)
            return rc;
        if (!any || id > max_id)
            max_id = id;
        any = true;
    }
    struct added_token *at = calloc(n_added ? n_added : 1, sizeof *at);
    if (!at)
        return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
    int rc = GLIMP_OK;
    uint8_t *added_mark = NULL;
    json_t *seen = NULL;
    for (size_t i = 0; i < n_added && rc == GLIMP_OK; i++) {
        json_t *e = json_array_get(added, i);
        json_t *content = json_object_get(e, "content"), *special = json_object_get(e, "special");
        if (!json_is_object(e) || !json_is_string(content)) {
            rc = glimp_error(GLIMP_ERR_FORMAT, "%s: added_tokens[%zu] has no string 'content'",
                             path, i);
            break;
        }
        if (special && !json_is_boolean(special)) {
            rc = glimp_error(GLIMP_ERR_FORMAT, "%s: added_tokens[%zu]: 'special' is not a boolean",
                             path, i);
            break;
        }
        at[i].content = json_string_value(content);
        at[i].special = json_is_true(special);
        rc = get_id(path, "added token", at[i].content, json_object_get(e, "id"), &at[i].id);
        if (rc == GLIMP_OK && at[i].content[0] == '\0')
            rc = glimp_error(GLIMP_ERR_FORMAT, "%s: added_tokens[%zu] has empty content", path, i);
        if (rc == GLIMP_OK && (!any || at[i].id > max_id))
            max_id = at[i].id;
        any = true;
    }
    if (rc == GLIMP_OK && !any)
        rc = glimp_error(GLIMP_ERR_FORMAT, "%s: model.vocab is empty", path);
    if (rc != GLIMP_OK)
        goto out;

    /* Pass 2: place every token at its id, refusing two tokens on one id. */
    uint32_t n = max_id + 1;
    v->tokens = calloc(n, sizeof *v->tokens);
    v->types = calloc(n, sizeof *v->types);
    if (!v->tokens || !v->types) {
        rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory for %u tokens", path, n);
        goto out;
    }
    v->n_tokens = n;
    json_object_foreach(vocab, key, val)
    {
        uint32_t id = (uint32_t)json_integer_value(val);
        if (v->tokens[id]) {
            rc = glimp_error(GLIMP_ERR_FORMAT, "%s: model.vocab: tokens '%s' and '%s' share id %u",
                             path, v->tokens[id], key, id);
            goto out;
        }
        if (!(v->tokens[id] = buf_strdup(key))) {
            rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
        v->types[id] = TM_TOKEN_NORMAL;
    }
    /* Added tokens override the vocab entry of the same id only when they
     * spell the same token; ids and contents must be unique among them. */
    added_mark = calloc(n, 1);
    seen = json_object();
    if (!added_mark || !seen) {
        rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < n_added; i++) {
        uint32_t id = at[i].id;
        const char *c = at[i].content;
        if (added_mark[id]) {
            rc = glimp_error(GLIMP_ERR_FORMAT, "%s: added_tokens: '%s' and '%s' share id %u", path,
                             v->tokens[id], c, id);
            goto out;
        }
        json_t *prev = json_object_get(seen, c);
        if (prev) {
            rc = glimp_error(GLIMP_ERR_FORMAT,
                             "%s: added_tokens: '%s' appears twice (ids %lld and %u)", path, c,
                             (long long)json_integer_value(prev), id);
            goto out;
        }
        if (json_object_set_new(seen, c, json_integer(id)) != 0) {
            rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
        json_t *in_vocab = json_object_get(vocab, c);
        if (in_vocab && (uint32_t)json_integer_value(in_vocab) != id) {
            rc = glimp_error(GLIMP_ERR_FORMAT,
                             "%s: token '%s' has id %lld in model.vocab but %u in added_tokens",
                             path, c, (long long)json_integer_value(in_vocab), id);
            goto out;
        }
        if (v->tokens[id] && strcmp(v->tokens[id], c)) {
            rc = glimp_error(GLIMP_ERR_FORMAT,
                             "%s: id %u is '%s' in model.vocab but '%s' in added_tokens", path, id,
                             v->tokens[id], c);
            goto out;
        }
        added_mark[id] = 1;
        free(v->tokens[id]);
        bool control = at[i].special || token_looks_special(c);
        v->tokens[id] = control ? buf_strdup(c) : dup_user_defined(c);
        v->types[id] = control ? TM_TOKEN_CONTROL : TM_TOKEN_USER_DEFINED;
        if (!v->tokens[id]) {
            rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    for (uint32_t id = 0; id < n; id++) {
        if (v->tokens[id])
            continue;
        char buf[32];
        snprintf(buf, sizeof buf, "[PAD%u]", id);
        if (!(v->tokens[id] = buf_strdup(buf))) {
            rc = glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
        v->types[id] = TM_TOKEN_UNUSED;
    }

    if ((rc = read_merges(path, json_object_get(model, "merges"), v)) != GLIMP_OK)
        goto out;
    rc = read_config(config_path, cfg, arch, at, n_added, tok, v);
out:
    free(at);
    free(added_mark);
    json_decref(seen);
    return rc;
}

int tm_vocab_from_hf_memory(const char *tokenizer_json, size_t tokenizer_len,
                            const char *config_json, size_t config_len, const char *arch,
                            struct tm_vocab *v)
{
    json_t *tok = NULL, *cfg = NULL;
    vocab_init(v);
    int rc = parse_json("tokenizer.json", tokenizer_json, tokenizer_len, 0, &tok);
    if (rc == GLIMP_OK && config_json)
        rc = parse_json("tokenizer_config.json", config_json, config_len, JSON_DECODE_INT_AS_REAL,
                        &cfg);
    if (rc == GLIMP_OK)
        rc = build_from_hf("tokenizer.json", tok, config_json ? "tokenizer_config.json" : NULL, cfg,
                           arch, v);
    json_decref(tok);
    json_decref(cfg);
    if (rc != GLIMP_OK)
        tm_vocab_free(v);
    return rc;
}

int tm_vocab_from_hf(const char *tokenizer_path, const char *config_path, const char *arch,
                     struct tm_vocab *v)
{
    json_t *tok = NULL, *cfg = NULL;
    vocab_init(v);
    int rc = load_json(tokenizer_path, 0, &tok);
    if (rc == GLIMP_OK && config_path)
        rc = load_json(config_path, JSON_DECODE_INT_AS_REAL, &cfg);
    if (rc == GLIMP_OK)
        rc = build_from_hf(tokenizer_path, tok, config_path, cfg, arch, v);
    json_decref(tok);
    json_decref(cfg);
    if (rc != GLIMP_OK)
        tm_vocab_free(v);
    return rc;
}

/* fuzz_gguf.c - libFuzzer target for the GGUF reader. Whatever the bytes, the
 * reader must either reject them or hand out views that lie inside them; the
 * target walks every key, string, array element and tensor byte range so the
 * sanitizers see any read out of bounds. Also built without libFuzzer as a
 * replay program (see replay_main.c) that runs the corpus in ordinary tests. */
#include "glimp.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const void *p, uint64_t len, const uint8_t *base, size_t size)
{
    const uint8_t *q = p;
    if (len == 0)
        return;
    if (q < base || len > (uint64_t)(base + size - q))
        abort();
    volatile uint8_t x = q[0];
    x = q[len - 1];
    (void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct glimp_gguf *g;
    if (glimp_gguf_open_memory(data, size, &g) != GLIMP_OK) {
        if (glimp_last_error()[0] == '\0')
            abort(); /* every failure must say why */
        return 0;
    }
    uint64_t sum = 0;
    for (uint64_t i = 0; i < glimp_gguf_n_kv(g); i++) {
        const struct glimp_gguf_kv *kv = glimp_gguf_kv_at(g, i);
        if (glimp_gguf_find(g, kv->key) != kv)
            abort();
        const struct glimp_gguf_value *v = &kv->val;
        if (v->type == GLIMP_GGUF_STR)
            check_inside(v->s.ptr, v->s.len, data, size);
        if (v->type != GLIMP_GGUF_ARR)
            continue;
        for (uint64_t k = 0; k < v->arr.n; k++) {
            if (v->arr.type == GLIMP_GGUF_STR)
                check_inside(v->arr.strs[k].ptr, v->arr.strs[k].len, data, size);
            else
                sum += glimp_gguf_arr_u64(v, k) + (uint64_t)glimp_gguf_arr_i64(v, k) +
                       (uint64_t)(glimp_gguf_arr_f64(v, k) != 0.0);
        }
        uint32_t u32;
        float f;
        struct glimp_str s;
        (void)glimp_gguf_get_u32(g, kv->key, &u32);
        (void)glimp_gguf_get_f32(g, kv->key, &f);
        (void)glimp_gguf_get_str(g, kv->key, &s);
    }
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        if (glimp_gguf_find_tensor(g, t->name) != t || !glimp_type_info(t->type))
            abort();
        check_inside(t->data, t->nbytes, data, size);
    }
    glimp_gguf_close(g);
    return (int)(sum & 0);
}

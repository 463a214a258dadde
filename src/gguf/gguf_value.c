/* gguf_value.c - metadata values: type names and sizes, and the typed getters
 * that turn "key absent" or "key of another type" into an error that names
 * the key and both types. */
#include "core/error.h"
#include "gguf/gguf_internal.h"

#include <math.h>
#include <stdio.h>

static const struct {
    const char *name;
    uint8_t size;
} vtypes[GLIMP_GGUF_VTYPE_COUNT] = {
    [GLIMP_GGUF_U8] = {"u8", 1},   [GLIMP_GGUF_I8] = {"i8", 1},     [GLIMP_GGUF_U16] = {"u16", 2},
    [GLIMP_GGUF_I16] = {"i16", 2}, [GLIMP_GGUF_U32] = {"u32", 4},   [GLIMP_GGUF_I32] = {"i32", 4},
    [GLIMP_GGUF_F32] = {"f32", 4}, [GLIMP_GGUF_BOOL] = {"bool", 1}, [GLIMP_GGUF_STR] = {"str", 0},
    [GLIMP_GGUF_ARR] = {"arr", 0}, [GLIMP_GGUF_U64] = {"u64", 8},   [GLIMP_GGUF_I64] = {"i64", 8},
    [GLIMP_GGUF_F64] = {"f64", 8},
};

const char *glimp_gguf_vtype_name(uint32_t vtype)
{
    return vtype < GLIMP_GGUF_VTYPE_COUNT ? vtypes[vtype].name : "?";
}

uint64_t glimp_gguf_vtype_size(uint32_t vtype)
{
    return vtype < GLIMP_GGUF_VTYPE_COUNT ? vtypes[vtype].size : 0;
}

static bool is_unsigned(enum glimp_gguf_vtype t)
{
    return t == GLIMP_GGUF_U8 || t == GLIMP_GGUF_U16 || t == GLIMP_GGUF_U32 || t == GLIMP_GGUF_U64;
}

static bool is_signed(enum glimp_gguf_vtype t)
{
    return t == GLIMP_GGUF_I8 || t == GLIMP_GGUF_I16 || t == GLIMP_GGUF_I32 || t == GLIMP_GGUF_I64;
}

static int lookup(const struct glimp_gguf *g, const char *key, const char *want,
                  const struct glimp_gguf_kv **out)
{
    *out = glimp_gguf_find(g, key);
    if (!*out)
        return glimp_error(GLIMP_ERR_NOT_FOUND, "key '%s' not found (expected %s)", key, want);
    return GLIMP_OK;
}

static int wrong_type(const struct glimp_gguf_kv *kv, const char *want)
{
    if (kv->val.type == GLIMP_GGUF_ARR)
        return glimp_error(GLIMP_ERR_TYPE, "key '%s' has type arr[%s], expected %s", kv->key,
                           glimp_gguf_vtype_name(kv->val.arr.type), want);
    return glimp_error(GLIMP_ERR_TYPE, "key '%s' has type %s, expected %s", kv->key,
                       glimp_gguf_vtype_name(kv->val.type), want);
}

/* Any integer value, as a signed or unsigned 64-bit number. */
static int get_integer(const struct glimp_gguf *g, const char *key, const char *want, bool *neg,
                       uint64_t *mag, const struct glimp_gguf_kv **kvp)
{
    int err = lookup(g, key, want, kvp);
    if (err)
        return err;
    const struct glimp_gguf_value *v = &(*kvp)->val;
    if (is_unsigned(v->type)) {
        *neg = false;
        *mag = v->u;
    } else if (is_signed(v->type)) {
        *neg = v->i < 0;
        *mag = *neg ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
    } else {
        return wrong_type(*kvp, want);
    }
    return GLIMP_OK;
}

int glimp_gguf_get_u64(const struct glimp_gguf *g, const char *key, uint64_t *out)
{
    const struct glimp_gguf_kv *kv;
    bool neg = false;
    uint64_t mag = 0;
    int err = get_integer(g, key, "an unsigned integer", &neg, &mag, &kv);
    if (err)
        return err;
    if (neg)
        return glimp_error(GLIMP_ERR_RANGE, "key '%s' is %lld, expected a value >= 0", key,
                           (long long)kv->val.i);
    *out = mag;
    return GLIMP_OK;
}

int glimp_gguf_get_u32(const struct glimp_gguf *g, const char *key, uint32_t *out)
{
    uint64_t v = 0;
    int err = glimp_gguf_get_u64(g, key, &v);
    if (err)
        return err;
    if (v > UINT32_MAX)
        return glimp_error(GLIMP_ERR_RANGE, "key '%s' is %llu, more than a u32 holds", key,
                           (unsigned long long)v);
    *out = (uint32_t)v;
    return GLIMP_OK;
}

int glimp_gguf_get_i64(const struct glimp_gguf *g, const char *key, int64_t *out)
{
    const struct glimp_gguf_kv *kv;
    bool neg = false;
    uint64_t mag = 0;
    int err = get_integer(g, key, "an integer", &neg, &mag, &kv);
    if (err)
        return err;
    if (!neg && mag > (uint64_t)INT64_MAX)
        return glimp_error(GLIMP_ERR_RANGE, "key '%s' is %llu, more than an i64 holds", key,
                           (unsigned long long)mag);
    *out = neg ? kv->val.i : (int64_t)mag;
    return GLIMP_OK;
}

int glimp_gguf_get_f64(const struct glimp_gguf *g, const char *key, double *out)
{
    const struct glimp_gguf_kv *kv;
    int err = lookup(g, key, "a float", &kv);
    if (err)
        return err;
    if (kv->val.type != GLIMP_GGUF_F32 && kv->val.type != GLIMP_GGUF_F64)
        return wrong_type(kv, "f32 or f64");
    *out = kv->val.f;
    return GLIMP_OK;
}

int glimp_gguf_get_f32(const struct glimp_gguf *g, const char *key, float *out)
{
    double v = 0;
    int err = glimp_gguf_get_f64(g, key, &v);
    if (err)
        return err;
    if (isfinite(v) && fabs(v) > 3.4028234663852886e38)
        return glimp_error(GLIMP_ERR_RANGE, "key '%s' is %g, more than an f32 holds", key, v);
    *out = (float)v;
    return GLIMP_OK;
}

int glimp_gguf_get_bool(const struct glimp_gguf *g, const char *key, bool *out)
{
    const struct glimp_gguf_kv *kv;
    int err = lookup(g, key, "bool", &kv);
    if (err)
        return err;
    if (kv->val.type != GLIMP_GGUF_BOOL)
        return wrong_type(kv, "bool");
    *out = kv->val.b;
    return GLIMP_OK;
}

int glimp_gguf_get_str(const struct glimp_gguf *g, const char *key, struct glimp_str *out)
{
    const struct glimp_gguf_kv *kv;
    int err = lookup(g, key, "str", &kv);
    if (err)
        return err;
    if (kv->val.type != GLIMP_GGUF_STR)
        return wrong_type(kv, "str");
    *out = kv->val.s;
    return GLIMP_OK;
}

int glimp_gguf_get_arr(const struct glimp_gguf *g, const char *key, enum glimp_gguf_vtype elem,
                       const struct glimp_gguf_value **out)
{
    const struct glimp_gguf_kv *kv;
    char want[32];
    if (elem == GLIMP_GGUF_ARR)
        snprintf(want, sizeof want, "an array");
    else
        snprintf(want, sizeof want, "arr[%s]", glimp_gguf_vtype_name(elem));
    int err = lookup(g, key, want, &kv);
    if (err)
        return err;
    if (kv->val.type != GLIMP_GGUF_ARR || (elem != GLIMP_GGUF_ARR && kv->val.arr.type != elem))
        return wrong_type(kv, want);
    *out = &kv->val;
    return GLIMP_OK;
}

/* Element i of a fixed-size array, decoded as a scalar value. */
static struct glimp_gguf_value arr_elem(const struct glimp_gguf_value *v, uint64_t i)
{
    struct glimp_gguf_value e = {.type = v->arr.type};
    const uint8_t *p = (const uint8_t *)v->arr.data + i * glimp_gguf_vtype_size(v->arr.type);
    switch (v->arr.type) {
    case GLIMP_GGUF_U8: e.u = p[0]; break;
    case GLIMP_GGUF_I8: e.i = (int8_t)p[0]; break;
    case GLIMP_GGUF_U16: e.u = glimp_gguf_load_u16(p); break;
    case GLIMP_GGUF_I16: e.i = (int16_t)glimp_gguf_load_u16(p); break;
    case GLIMP_GGUF_U32: e.u = glimp_gguf_load_u32(p); break;
    case GLIMP_GGUF_I32: e.i = (int32_t)glimp_gguf_load_u32(p); break;
    case GLIMP_GGUF_U64: e.u = glimp_gguf_load_u64(p); break;
    case GLIMP_GGUF_I64: e.i = (int64_t)glimp_gguf_load_u64(p); break;
    case GLIMP_GGUF_BOOL: e.b = p[0] != 0; break;
    case GLIMP_GGUF_F32: {
        uint32_t bits = glimp_gguf_load_u32(p);
        float f;
        memcpy(&f, &bits, 4);
        e.f = f;
        break;
    }
    case GLIMP_GGUF_F64: {
        uint64_t bits = glimp_gguf_load_u64(p);
        memcpy(&e.f, &bits, 8);
        break;
    }
    default: break;
    }
    return e;
}

uint64_t glimp_gguf_arr_u64(const struct glimp_gguf_value *v, uint64_t i)
{
    struct glimp_gguf_value e = arr_elem(v, i);
    if (is_signed(e.type))
        return (uint64_t)e.i;
    if (e.type == GLIMP_GGUF_BOOL)
        return e.b;
    if (e.type == GLIMP_GGUF_F32 || e.type == GLIMP_GGUF_F64)
        return e.f >= 0 && e.f < 18446744073709551616.0 ? (uint64_t)e.f : 0;
    return e.u;
}

int64_t glimp_gguf_arr_i64(const struct glimp_gguf_value *v, uint64_t i)
{
    struct glimp_gguf_value e = arr_elem(v, i);
    if (is_unsigned(e.type))
        return (int64_t)e.u;
    if (e.type == GLIMP_GGUF_BOOL)
        return e.b;
    if (e.type == GLIMP_GGUF_F32 || e.type == GLIMP_GGUF_F64)
        return e.f >= -9223372036854775808.0 && e.f < 9223372036854775808.0 ? (int64_t)e.f : 0;
    return e.i;
}

double glimp_gguf_arr_f64(const struct glimp_gguf_value *v, uint64_t i)
{
    struct glimp_gguf_value e = arr_elem(v, i);
    if (is_unsigned(e.type))
        return (double)e.u;
    if (is_signed(e.type))
        return (double)e.i;
    if (e.type == GLIMP_GGUF_BOOL)
        return e.b;
    return e.f;
}

/* render: protobuf reply -> JSON, and error bodies (see render.h). */
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.pb-c.h"

static int render_tuple(const ProtobufCMessage *msg, gw_buf *out);

/* The length of the well-formed UTF-8 sequence at s[0..len), or 0 when it is not one
 * (bad lead or continuation byte, overlong form, surrogate, beyond U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;

    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (n > len)
        return 0;
    /* The second byte's range rules out overlong forms, surrogates and > U+10FFFF. */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

int gw_render_json_string(const char *str, size_t len, gw_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run;

    gw_buf_append(out, "\"", 1);
    while (i < len) {
        /* Copy the longest run that needs no escaping in one append. */
        for (run = i; run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
                      s[run] != '\\';
             run++)
            ;
        gw_buf_append(out, s + i, run - i);
        if ((i = run) == len)
            break;

        unsigned char c = s[i];
        size_t n;
        switch (c) {
        case '"': gw_buf_append(out, "\\\"", 2); break;
        case '\\': gw_buf_append(out, "\\\\", 2); break;
        case '\n': gw_buf_append(out, "\\n", 2); break;
        case '\r': gw_buf_append(out, "\\r", 2); break;
        case '\t': gw_buf_append(out, "\\t", 2); break;
        default:
            if (c < 0x20) {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                gw_buf_append(out, u, sizeof(u));
            } else if ((n = utf8_sequence(s + i, len - i)) > 0) {
                gw_buf_append(out, s + i, n);
                i += n - 1;
            } else {
                gw_buf_append(out, "\\ufffd", 6);
            }
        }
        i++;
    }
    gw_buf_append(out, "\"", 1);
    return gw_buf_error(out);
}

/* The size of one element of a repeated field of type t, or 0 when unsupported. */
static size_t element_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(int64_t);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    default: return 0;
    }
}

/* Appends one value of field f stored at p (a repeated field's element, or the field
 * itself). A message value is rendered as a tuple (see render.h). Returns 0, -ENOTSUP
 * or -ENOMEM. */
static int render_value(const ProtobufCFieldDescriptor *f, const void *p, gw_buf *out)
{
    const char *s;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM: return gw_buf_printf(out, "%" PRId32, *(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return gw_buf_printf(out, "%" PRIu32, *(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return gw_buf_printf(out, "%" PRId64, *(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return gw_buf_printf(out, "%" PRIu64, *(const uint64_t *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return gw_buf_puts(out, *(const protobuf_c_boolean *)p ? "true" : "false");
    case PROTOBUF_C_TYPE_STRING:
        s = *(const char *const *)p;
        return s ? gw_render_json_string(s, strlen(s), out) : gw_buf_puts(out, "\"\"");
    case PROTOBUF_C_TYPE_MESSAGE:
        if (*(const ProtobufCMessage *const *)p == NULL)
            return gw_buf_puts(out, "null");
        return render_tuple(*(const ProtobufCMessage *const *)p, out);
    default:
        return -ENOTSUP;
    }
}

/* Appends the value of field f of msg: a scalar, or an array for a repeated field. A
 * single (non-repeated) message field is not supported. Returns as render_value. */
static int render_field(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                        gw_buf *out)
{
    const char *base = (const char *)msg;
    const char *elems;
    size_t n, size;
    int rv;

    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            return -ENOTSUP;
        return render_value(f, base + f->offset, out);
    }
    if ((size = element_size(f->type)) == 0)
        return -ENOTSUP;
    n = *(const size_t *)(base + f->quantifier_offset);
    elems = *(const char *const *)(base + f->offset);
    gw_buf_append(out, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            gw_buf_append(out, ", ", 2);
        if ((rv = render_value(f, elems + i * size, out)) != 0)
            return rv;
    }
    gw_buf_append(out, "]", 1);
    return gw_buf_error(out);
}

/* Appends msg as the array of its field values, in field-number order. */
static int render_tuple(const ProtobufCMessage *msg, gw_buf *out)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    int rv;

    gw_buf_append(out, "[", 1);
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (i > 0)
            gw_buf_append(out, ", ", 2);
        if ((rv = render_field(msg, &d->fields[i], out)) != 0)
            return rv;
    }
    gw_buf_append(out, "]", 1);
    return gw_buf_error(out);
}

int gw_render_json(const ProtobufCMessage *msg, gw_buf *out)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    int rv;

    gw_buf_append(out, "{", 1);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (i > 0)
            gw_buf_append(out, ", ", 2);
        gw_render_json_string(f->name, strlen(f->name), out);
        gw_buf_append(out, ": ", 2);
        if ((rv = render_field(msg, f, out)) != 0)
            return rv;
    }
    gw_buf_append(out, "}", 1);
    return gw_buf_error(out);
}

int gw_render_error_json(const char *text, gw_buf *out)
{
    gw_buf_puts(out, "{\"error\": ");
    gw_render_json_string(text, strlen(text), out);
    gw_buf_append(out, "}", 1);
    return gw_buf_error(out);
}

int gw_render_error_proto(const char *text, gw_buf *out)
{
    Wdm__Error e = WDM__ERROR__INIT;
    uint8_t stackbuf[256], *p = stackbuf;
    size_t len;
    int rv;

    e.error = (char *)text;
    len = wdm__error__get_packed_size(&e);
    if (len > sizeof(stackbuf) && (p = malloc(len)) == NULL)
        return out->err = -ENOMEM;
    wdm__error__pack(&e, p);
    rv = gw_buf_append(out, p, len);
    if (p != stackbuf)
        free(p);
    return rv;
}

/* body: protobuf request bodies (see body.h). */
#include "body.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wire.h"

#define CT_PROTOBUF "application/x-protobuf"

/* One field of the request message as the body had it (its last occurrence wins). */
typedef struct field_value {
    bool present;
    uint64_t varint;     /* int64 fields */
    const uint8_t *data; /* string fields */
    size_t len;
} field_value;

bool gw_body_is_protobuf(const char *content_type, size_t len)
{
    const size_t n = sizeof(CT_PROTOBUF) - 1;

    while (len > 0 && (*content_type == ' ' || *content_type == '\t'))
        content_type++, len--;
    if (len < n || strncasecmp(content_type, CT_PROTOBUF, n) != 0)
        return false;
    return len == n || content_type[n] == ';' || content_type[n] == ' ' || content_type[n] == '\t';
}

/* The wire type field f must have, or -1 for a type no request message uses. */
static int wire_type_of(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: return GW_WIRE_LEN;
    case PROTOBUF_C_TYPE_INT64: return GW_WIRE_VARINT;
    default: return -1;
    }
}

/* An int64 field's varint as the value it encodes (two's complement on the wire). */
static int64_t varint_int64(uint64_t v)
{
    return v <= INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

/* Reads body[0..len) into vals, one per field of desc (by index). Returns 0, or -EINVAL
 * with p->error set. */
static int decode(const ProtobufCMessageDescriptor *desc, const void *body, size_t len,
                  field_value *vals, gw_parsed *p)
{
    gw_wire_reader r = gw_wire_reader_init(body, len);
    const ProtobufCFieldDescriptor *f;
    const char *why = "";
    gw_wire_field w;
    int rv;

    while ((rv = gw_wire_next(&r, &w, &why)) == 1) {
        if ((f = protobuf_c_message_descriptor_get_field(desc, w.number)) == NULL)
            continue;
        if ((int)w.type != wire_type_of(f)) {
            snprintf(p->error, sizeof(p->error), "body: %s must be %s", f->name,
                     f->type == PROTOBUF_C_TYPE_STRING ? "a string" : "an integer (varint)");
            return -EINVAL;
        }
        vals[f - desc->fields] = (field_value){true, w.varint, w.data, w.len};
    }
    if (rv < 0)
        snprintf(p->error, sizeof(p->error), "body is not a valid %s: %s", desc->name, why);
    return rv;
}

/* Sets field f (slot: its index) from the body's value v, or its default if absent. */
static int set_field(gw_parsed *p, const ProtobufCFieldDescriptor *f, int slot,
                     const field_value *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return gw_parsed_set_id(p, f, slot, v->present ? (const char *)v->data : "", v->len);
    case PROTOBUF_C_TYPE_INT64: return gw_parsed_set_number(p, f, varint_int64(v->varint), true);
    default: return -EPROTO;
    }
}

/* Checks that the body's value v of field f, if it has one, is the path's. */
static int check_agrees(gw_parsed *p, const ProtobufCFieldDescriptor *f, const field_value *v)
{
    const void *member = p->request + f->offset;
    bool same;

    if (!v->present)
        return 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        same = strlen(s) == v->len && memcmp(s, v->data, v->len) == 0;
        break;
    }
    case PROTOBUF_C_TYPE_INT64: same = *(const int64_t *)member == varint_int64(v->varint); break;
    default: return -EPROTO;
    }
    if (!same) {
        snprintf(p->error, sizeof(p->error), "%s in the body differs from the path's", f->name);
        return -EINVAL;
    }
    return 0;
}

int gw_body_apply(gw_parsed *p, const void *body, size_t len, bool from_path)
{
    const ProtobufCMessageDescriptor *desc = p->route->request;
    field_value vals[GW_PARAMS_MAX];
    int rv;

    if (desc->n_fields > GW_PARAMS_MAX)
        return -EPROTO;
    memset(vals, 0, sizeof(vals));
    if ((rv = decode(desc, body, len, vals, p)) != 0)
        return rv;
    for (unsigned j = 0; j < desc->n_fields; j++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[j];
        rv = from_path ? check_agrees(p, f, &vals[j]) : set_field(p, f, (int)j, &vals[j]);
        if (rv != 0)
            return rv;
    }
    return 0;
}

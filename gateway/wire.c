/* wire: the protobuf wire-format reader (see wire.h). */
#include "wire.h"

#include <errno.h>

#define FIELD_NUMBER_MAX ((1u << 29) - 1)

/* Reads a varint at r->p into *v. A varint has at most 10 bytes, and the 10th may only
 * carry bit 63. Returns 0, or -EINVAL (why set) when it is too long or cut off. */
static int read_varint(gw_wire_reader *r, uint64_t *v, const char **why)
{
    uint64_t x = 0;

    for (unsigned i = 0; i < 10; i++) {
        if (r->p == r->end) {
            *why = "truncated varint";
            return -EINVAL;
        }
        uint8_t b = *r->p++;
        if (i == 9 && b > 1) {
            *why = "varint longer than 64 bits";
            return -EINVAL;
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *v = x;
            return 0;
        }
    }
    *why = "varint longer than 64 bits";
    return -EINVAL;
}

/* Takes the next n bytes as f's data. Returns 0, or -EINVAL when fewer are left. */
static int take(gw_wire_reader *r, uint64_t n, gw_wire_field *f, const char **why)
{
    if (n > (uint64_t)(r->end - r->p)) {
        *why = "field runs past the end";
        return -EINVAL;
    }
    f->data = r->p;
    f->len = (size_t)n;
    r->p += n;
    return 0;
}

int gw_wire_next(gw_wire_reader *r, gw_wire_field *f, const char **why)
{
    uint64_t tag, n;
    int rv;

    if (r->p == r->end)
        return 0;
    if ((rv = read_varint(r, &tag, why)) != 0)
        return rv;
    if ((tag >> 3) == 0 || (tag >> 3) > FIELD_NUMBER_MAX) {
        *why = "bad field number";
        return -EINVAL;
    }
    *f = (gw_wire_field){.number = (uint32_t)(tag >> 3)};
    switch (tag & 7) {
    case GW_WIRE_VARINT:
        f->type = GW_WIRE_VARINT;
        rv = read_varint(r, &f->varint, why);
        break;
    case GW_WIRE_I64:
        f->type = GW_WIRE_I64;
        rv = take(r, 8, f, why);
        break;
    case GW_WIRE_LEN:
        f->type = GW_WIRE_LEN;
        if ((rv = read_varint(r, &n, why)) == 0)
            rv = take(r, n, f, why);
        break;
    case GW_WIRE_I32:
        f->type = GW_WIRE_I32;
        rv = take(r, 4, f, why);
        break;
    default: *why = "unsupported wire type"; return -EINVAL;
    }
    return rv == 0 ? 1 : rv;
}

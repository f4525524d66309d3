/* bus_frame: the records of a bus message (see bus_frame.h). */
#include "bus_frame.h"

#include <errno.h>
#include <string.h>

#define FRAME_TAG 0x0a /* field 1, wire type 2 (length-delimited) */

static size_t frame_varint_size(size_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t bus_frame_record_size(size_t len)
{
    return 1 + frame_varint_size(len) + len;
}

uint8_t *bus_frame_put(uint8_t *p, const uint8_t *rec, size_t len)
{
    size_t v = len;

    *p++ = FRAME_TAG;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    if (len)
        memcpy(p, rec, len);
    return p + len;
}

/* Reads a varint of at most 10 bytes at body[*at..len) into *v. Returns 0 or -EBADMSG. */
static int frame_varint(const uint8_t *body, size_t len, size_t *at, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && *at < len; shift += 7) {
        uint8_t b = body[(*at)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -EBADMSG;
}

int bus_frame_split(const uint8_t *body, size_t len, bus_frame_fn fn, void *arg)
{
    size_t at = 0;
    uint64_t n;
    int rv;

    while (at < len) {
        if (body[at++] != FRAME_TAG || frame_varint(body, len, &at, &n) != 0 || n > len - at)
            return -EBADMSG;
        if ((rv = fn(arg, body + at, (size_t)n)) != 0)
            return rv;
        at += (size_t)n;
    }
    return 0;
}

/* wire: a reader of the protobuf wire format, one field at a time.
 *
 * Pure and allocation-free. It exists because the gateway decodes request bodies that
 * come straight from clients, and protobuf-c's unpack cannot say how long a string
 * was: it stores strings NUL-terminated, so "a\0b" would arrive as the id "a". This
 * reader hands out every field's raw bytes and length instead; body.c interprets them.
 *
 * Accepted: wire types 0 (varint), 1 (64-bit), 2 (length-delimited) and 5 (32-bit),
 * field numbers 1 .. 2^29-1. Groups (3, 4), unknown wire types (6, 7), field number 0,
 * varints longer than 64 bits and anything running past the end are malformed. */
#ifndef GW_WIRE_H
#define GW_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum gw_wire_type {
    GW_WIRE_VARINT = 0,
    GW_WIRE_I64 = 1,
    GW_WIRE_LEN = 2,
    GW_WIRE_I32 = 5,
};

typedef struct gw_wire_reader {
    const uint8_t *p, *end;
} gw_wire_reader;

/* One field as it was on the wire. */
typedef struct gw_wire_field {
    uint32_t number;
    enum gw_wire_type type;
    uint64_t varint;     /* GW_WIRE_VARINT: its value */
    const uint8_t *data; /* the other types: their bytes (8, len or 4 of them) */
    size_t len;
} gw_wire_field;

static inline gw_wire_reader gw_wire_reader_init(const void *data, size_t len)
{
    const uint8_t *p = data;
    return (gw_wire_reader){p, p + len};
}

/* Reads the next field into *f. Returns 1 when a field was read, 0 at the end of the
 * input, or -EINVAL when the input is malformed (then *why says how, in a few words). */
int gw_wire_next(gw_wire_reader *r, gw_wire_field *f, const char **why);

#endif

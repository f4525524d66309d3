/* render: reply messages -> response bodies (DESIGN §3). Pure: no I/O, no h2o.
 *
 * JSON is rendered from the message's descriptor: an object with one member per field,
 * named as the field, in field-number order. Integers are JSON integers, bools are
 * true/false, strings are escaped (invalid UTF-8 becomes U+FFFD), a repeated field is an
 * array, and a message inside one is the array of its field values: OrderReply's items
 * become [["item-id", 2], ...]. The .proto files are written so that this is exactly
 * the documented shape of every reply. */
#ifndef GW_RENDER_H
#define GW_RENDER_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "strbuf.h"

/* Appends msg as a JSON object. Returns 0, -ENOTSUP when msg has a field type the
 * API never uses (double, bytes, a single nested message, ...), or -ENOMEM. */
int gw_render_json(const ProtobufCMessage *msg, gw_buf *out);

/* Appends s[0..len) as a JSON string literal, quotes included. Returns 0 or -ENOMEM. */
int gw_render_json_string(const char *s, size_t len, gw_buf *out);

/* Appends {"error": "<text>"}. Returns 0 or -ENOMEM. */
int gw_render_error_json(const char *text, gw_buf *out);

/* Appends a packed wdm.Error{error: text}. Returns 0 or -ENOMEM. */
int gw_render_error_proto(const char *text, gw_buf *out);

#endif

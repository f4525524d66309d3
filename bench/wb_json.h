/* wb_json: the little the bench reads from the gateway's JSON answers, on top of jansson:
 * a body read as exactly one object, and the id and integer members the scenarios take
 * from it, each checked as it is read. A caller that checks a whole shape (the
 * consistency scenario's answers) asks jansson itself, with json_unpack.
 *
 * Ownership: wb_json_object gives the caller a reference to the object (json_decref it);
 * the other functions borrow the object. */
#ifndef WB_JSON_H
#define WB_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Parses body[0..len) as one JSON object with nothing but white space around it; a key
 * twice, a NUL in a string or bytes that are not UTF-8 make it malformed. Returns 0 with
 * *obj set (the caller's reference), -EPROTO when the body is not such an object, or
 * -ENOMEM; on error *obj is not touched and there is nothing to free. */
int wb_json_object(const char *body, size_t len, json_t **obj);

/* Copies the string member key of obj (an id) into out[0..cap), NUL-terminated. Returns
 * 0, or -EPROTO when it is missing, not a string, empty, or longer than cap - 1 bytes
 * (out is then not touched). */
int wb_json_id(const json_t *obj, const char *key, char *out, size_t cap);

/* The integer member key of obj into *out. Returns 0, or -EPROTO when it is missing or
 * not an integer (1.0 and 1e3 are not; jansson already refused one beyond int64). */
int wb_json_int(const json_t *obj, const char *key, int64_t *out);

#endif

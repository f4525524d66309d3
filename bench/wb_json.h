/* wb_json: just enough JSON for the bench: walk the members of an object and the elements
 * of an array of a response body, read strings, integers and booleans, and write a JSON
 * string (escaped) into a report.
 *
 * Nothing is allocated or copied: a value is a span of the input. A walk validates what
 * it passes over (strings closed, brackets matched, known literals), and a body that is
 * not exactly one value (plus white space) fails wb_json_check. */
#ifndef WB_JSON_H
#define WB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum wb_json_type {
    WB_JSON_STRING,
    WB_JSON_NUMBER,
    WB_JSON_OBJECT,
    WB_JSON_ARRAY,
    WB_JSON_TRUE,
    WB_JSON_FALSE,
    WB_JSON_NULL
};

/* One value: its bytes in the input (a string's with its quotes). */
typedef struct wb_json_val {
    enum wb_json_type type;
    const char *p;
    size_t n;
} wb_json_val;

/* A walk over the members of an object or the elements of an array. */
typedef struct wb_json_iter {
    const char *p, *end;
    bool first;
} wb_json_iter;

/* Is json[0..len) exactly one valid JSON value, surrounded by white space only? On
 * success *v (may be NULL) is that value. Returns 0 or -EINVAL. */
int wb_json_check(const char *json, size_t len, wb_json_val *v);

/* Starts a walk over the object or array v (type must match). Returns 0 or -EINVAL. */
int wb_json_iter_init(wb_json_iter *it, const wb_json_val *v);

/* The next member of an object walk: *key is its name (a string value), *val its value.
 * Returns 1, 0 at the end, or -EINVAL when malformed. */
int wb_json_next_member(wb_json_iter *it, wb_json_val *key, wb_json_val *val);

/* The next element of an array walk. Returns as wb_json_next_member. */
int wb_json_next_elem(wb_json_iter *it, wb_json_val *val);

/* Finds member key of object obj. Returns 1 (found, *val set), 0, or -EINVAL. */
int wb_json_find(const wb_json_val *obj, const char *key, wb_json_val *val);

/* Does the string value v equal s (compared after unescaping)? */
bool wb_json_str_eq(const wb_json_val *v, const char *s);

/* Unescapes the string value v into out[0..cap) (NUL-terminated). Returns its length, or
 * -EINVAL (not a string, or a \u escape outside ASCII), or -ENOSPC. */
int wb_json_str(const wb_json_val *v, char *out, size_t cap);

/* The integer value v (no fraction, no exponent, within int64). Returns 0 or -EINVAL. */
int wb_json_int(const wb_json_val *v, int64_t *out);

/* Writes s as a JSON string (quoted, escaped) to f. */
void wb_json_fput_str(FILE *f, const char *s);

#endif

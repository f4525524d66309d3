/* wb_json: a gateway answer's body as a JSON object, and its members (see wb_json.h). */
#include "wb_json.h"

#include <errno.h>
#include <string.h>

int wb_json_object(const char *body, size_t len, json_t **obj)
{
    json_error_t err;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);

    if (v == NULL)
        return json_error_code(&err) == json_error_out_of_memory ? -ENOMEM : -EPROTO;
    if (!json_is_object(v)) { /* json_loadb also takes a top-level array */
        json_decref(v);
        return -EPROTO;
    }
    *obj = v;
    return 0;
}

int wb_json_id(const json_t *obj, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(obj, key);
    size_t n;

    if (!json_is_string(v))
        return -EPROTO;
    n = json_string_length(v); /* no NUL inside: wb_json_object refused those */
    if (n == 0 || n >= cap)
        return -EPROTO;
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

int wb_json_int(const json_t *obj, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        return -EPROTO;
    *out = json_integer_value(v);
    return 0;
}

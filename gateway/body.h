/* body: protobuf request bodies, decoded into a route's request message.
 *
 * Pure: no I/O and no h2o; route.c calls gw_body_apply while it parses a request, and
 * route.h says how body and path combine. Fields are read with wire.h (exact lengths,
 * no allocation) and checked with the same rules as path parameters
 * (gw_parsed_set_id, gw_parsed_set_number). Fields the message does not have are
 * skipped, as protobuf parsers do; a known field with the wrong wire type is a 400. */
#ifndef GW_BODY_H
#define GW_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "route.h"

/* True when a Content-Type header value (content_type[0..len)) is
 * application/x-protobuf: any case, optional parameters after ';'. */
bool gw_body_is_protobuf(const char *content_type, size_t len);

/* Decodes body[0..len) as p->route's request message into p's request message, which
 * from_path says has been filled in from the path already (then the body's fields must
 * agree with it) or is fresh (then every field comes from the body). Returns 0;
 * -EINVAL with p->error set when the body is malformed, has a field of the wrong type,
 * a bad value, or a value other than the path's; -EPROTO when the route's message has
 * fields the gateway cannot take (route_test rules that out). */
int gw_body_apply(gw_parsed *p, const void *body, size_t len, bool from_path);

#endif

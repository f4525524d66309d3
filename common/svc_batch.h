/* svc_batch: the frame shared by the services' batch_init methods.
 *
 * A batch_init call overwrites entities "0".."n-1" with pipelined writes: the service
 * says which commands write entity i, svc_batch sends them in chunks (one pipeline and
 * one WAIT 1 per chunk, so memory stays bounded however large n is) and answers the
 * call. Batch writes are idempotent by themselves (they overwrite), so a re-sent chunk
 * or a re-delivered call is harmless. */
#ifndef WDM_SVC_BATCH_H
#define WDM_SVC_BATCH_H

#include <stdint.h>

#include "rpc_server.h"
#include "service.h"
#include "store.h"

/* Entities written per pipeline (and per WAIT). */
#define SVC_BATCH_CHUNK 10000

/* Appends to b the commands that write entity i (store_batch_add).
 * Returns 0 or a negative error (-ENOMEM). */
typedef int (*svc_batch_fill_fn)(void *arg, store_batch *b, int64_t i);

/* Writes entities 0..n-1 through fill(arg, b, i) and answers the call: OK with
 * BatchInitReply "Batch init for <what> successful", INVALID_ARGUMENT unless
 * 1 <= n <= WDM_BATCH_MAX, UNAVAILABLE when storage fails (chunks written before the
 * failure stay written). */
void svc_batch_init(service_worker *w, rpc_call *call, const char *what, int64_t n,
                    svc_batch_fill_fn fill, void *arg);

#endif

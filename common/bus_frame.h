/* bus_frame: several records (packed protobuf messages) in one bus message.
 *
 * Every message the bus publishes carries the AMQP property type BUS_FRAME_TYPE and a
 * body that is a wdm.BusBatch (proto/saga.proto): each record as field 1, wire type 2
 * (tag byte 0x0a, varint length, bytes). One publish, one confirm, one delivery and
 * one ack for many commands or events is what lets the broker keep up (bench/RESULTS.md).
 * A message without that type is one record, as a producer that does not batch (a
 * test, an older version) sends it. Pure: no I/O. */
#ifndef WDM_BUS_FRAME_H
#define WDM_BUS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define BUS_FRAME_TYPE "wdm.batch"
/* Limits of one message: records, and bytes of the body. */
#define BUS_FRAME_MAX_RECORDS 512
#define BUS_FRAME_MAX_BYTES (256 * 1024)

/* The bytes record of `len` bytes takes in a body. */
size_t bus_frame_record_size(size_t len);

/* Writes the record rec[0..len) at p (room: bus_frame_record_size(len)); returns the
 * end of what it wrote. */
uint8_t *bus_frame_put(uint8_t *p, const uint8_t *rec, size_t len);

/* Called for each record of a body, in order; a non-zero return stops the split. */
typedef int (*bus_frame_fn)(void *arg, const uint8_t *rec, size_t len);

/* Splits body into its records. Returns 0, fn's non-zero return, or -EBADMSG when the
 * body is not a sequence of records (fn may have been called for those before). */
int bus_frame_split(const uint8_t *body, size_t len, bus_frame_fn fn, void *arg);

#endif

/* Unit tests of bus_frame: records in, the same records out; malformed bodies refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_frame.h"
#include "saga.pb-c.h"
#include "check.h"

typedef struct seen {
    size_t n;
    const uint8_t *rec[8];
    size_t len[8];
} seen;

static int collect(void *arg, const uint8_t *rec, size_t len)
{
    seen *s = arg;

    if (s->n == 8)
        return -E2BIG;
    s->rec[s->n] = rec;
    s->len[s->n++] = len;
    return 0;
}

/* Records of 0, 5, 127, 128 and 300 bytes (one- and two-byte lengths) round-trip, and
 * the body is what protobuf-c packs for a wdm.BusBatch of the same records. */
static void test_round_trip(void)
{
    static const size_t sizes[] = {0, 5, 127, 128, 300};
    enum { N = sizeof(sizes) / sizeof(sizes[0]) };
    uint8_t recs[N][300], body[1024], *p = body;
    ProtobufCBinaryData bins[N];
    Wdm__BusBatch batch = WDM__BUS_BATCH__INIT;
    uint8_t packed[1024];
    seen s = {0};

    for (size_t i = 0; i < N; i++) {
        memset(recs[i], (int)(i + 1), sizes[i]);
        CHECK(bus_frame_record_size(sizes[i]) == 1 + (sizes[i] < 128 ? 1 : 2) + sizes[i]);
        p = bus_frame_put(p, recs[i], sizes[i]);
        bins[i] = (ProtobufCBinaryData){sizes[i], recs[i]};
    }
    batch.n_records = N;
    batch.records = bins;
    CHECK(wdm__bus_batch__get_packed_size(&batch) == (size_t)(p - body));
    CHECK(wdm__bus_batch__pack(&batch, packed) == (size_t)(p - body));
    CHECK(memcmp(packed, body, (size_t)(p - body)) == 0);

    CHECK(bus_frame_split(body, (size_t)(p - body), collect, &s) == 0);
    CHECK(s.n == N);
    for (size_t i = 0; i < N && i < s.n; i++)
        CHECK(s.len[i] == sizes[i] && (sizes[i] == 0 || memcmp(s.rec[i], recs[i], sizes[i]) == 0));

    s.n = 0;
    CHECK(bus_frame_split(body, 0, collect, &s) == 0 && s.n == 0);
}

static void test_malformed(void)
{
    static const uint8_t wrong_tag[] = {0x12, 0x01, 0x00};
    static const uint8_t too_long[] = {0x0a, 0x05, 0x01, 0x02};
    static const uint8_t cut_varint[] = {0x0a, 0x80};
    static const uint8_t endless_varint[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t good_then_bad[] = {0x0a, 0x01, 0x07, 0x0a};
    seen s = {0};

    CHECK(bus_frame_split(wrong_tag, sizeof(wrong_tag), collect, &s) == -EBADMSG);
    CHECK(bus_frame_split(too_long, sizeof(too_long), collect, &s) == -EBADMSG);
    CHECK(bus_frame_split(cut_varint, sizeof(cut_varint), collect, &s) == -EBADMSG);
    CHECK(bus_frame_split(endless_varint, sizeof(endless_varint), collect, &s) == -EBADMSG);
    CHECK(s.n == 0);
    CHECK(bus_frame_split(good_then_bad, sizeof(good_then_bad), collect, &s) == -EBADMSG);
    CHECK(s.n == 1 && s.len[0] == 1 && s.rec[0][0] == 0x07);
}

int main(void)
{
    test_round_trip();
    test_malformed();
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    printf("bus_frame_test: all passed\n");
    return 0;
}

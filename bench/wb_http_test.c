/* Unit test of wb_http: response parsing (lengths, chunked, close, interim, errors, bytes
 * arriving one by one), request writing, URLs. */
#include "check.h"
#include "wb_http.h"

#include <errno.h>

/* Parses text fed one byte more at a time (as a slow socket would), then with eof.
 * Returns the final result; r holds the parse. buf must be writable. */
static int feed(wb_http_resp *r, char *buf, size_t len, bool eof_at_end)
{
    int rv = WB_HTTP_MORE;

    wb_http_resp_reset(r);
    for (size_t n = 1; n <= len && rv == WB_HTTP_MORE; n++)
        rv = wb_http_parse(r, buf, n, false);
    if (rv == WB_HTTP_MORE && eof_at_end)
        rv = wb_http_parse(r, buf, len, true);
    return rv;
}

static void test_content_length(void)
{
    char buf[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 13\r\n"
                 "\r\n{\"stock\": 5}\nHTTP/1.1 ...";
    size_t whole = sizeof(buf) - 1 - strlen("HTTP/1.1 ...");
    wb_http_resp r;

    CHECK(feed(&r, buf, whole, false) == WB_HTTP_DONE);
    CHECK(r.status == 200 && !r.close && !r.chunked);
    CHECK(r.wire_len == whole);
    CHECK(r.body_len == 13 && memcmp(buf + r.body_off, "{\"stock\": 5}\n", 13) == 0);
    /* all at once, with the next response's bytes behind it */
    wb_http_resp_reset(&r);
    CHECK(wb_http_parse(&r, buf, sizeof(buf) - 1, false) == WB_HTTP_DONE);
    CHECK(r.wire_len == whole);
    /* cut short by a close */
    wb_http_resp_reset(&r);
    CHECK(wb_http_parse(&r, buf, whole - 3, true) == -ECONNRESET);
}

static void test_chunked(void)
{
    char buf[] = "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\n{\"err\r\n"
                 "A;ext=1\r\nor\": \"no\"}\r\n"
                 "0\r\nX-Trailer: t\r\n\r\n";
    wb_http_resp r;

    CHECK(feed(&r, buf, sizeof(buf) - 1, false) == WB_HTTP_DONE);
    CHECK(r.status == 409 && r.chunked);
    CHECK(r.wire_len == sizeof(buf) - 1);
    CHECK(r.body_len == 15 && memcmp(buf + r.body_off, "{\"error\": \"no\"}", 15) == 0);

    char bad[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n";
    CHECK(feed(&r, bad, sizeof(bad) - 1, false) == -EPROTO);
    char gz[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
    CHECK(feed(&r, gz, sizeof(gz) - 1, false) == -EPROTO);
}

static void test_close_and_versions(void)
{
    char c1[] = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    char c2[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    char c3[] = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok";
    char c4[] = "HTTP/1.1 200 OK\r\n\r\nuntil the end";
    wb_http_resp r;

    CHECK(feed(&r, c1, sizeof(c1) - 1, false) == WB_HTTP_DONE && r.close);
    CHECK(feed(&r, c2, sizeof(c2) - 1, false) == WB_HTTP_DONE && r.close);
    CHECK(feed(&r, c3, sizeof(c3) - 1, false) == WB_HTTP_DONE && !r.close);
    CHECK(feed(&r, c4, sizeof(c4) - 1, true) == WB_HTTP_DONE && r.close);
    CHECK(r.body_len == 13);
}

static void test_no_body_and_interim(void)
{
    char nb[] = "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n";
    char im[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    wb_http_resp r;

    CHECK(feed(&r, nb, sizeof(nb) - 1, false) == WB_HTTP_DONE && r.body_len == 0);
    CHECK(r.wire_len == sizeof(nb) - 1);
    wb_http_resp_reset(&r);
    CHECK(wb_http_parse(&r, im, sizeof(im) - 1, false) == WB_HTTP_INTERIM);
    CHECK(r.wire_len == 25);
    wb_http_resp_reset(&r);
    CHECK(wb_http_parse(&r, im + 25, sizeof(im) - 1 - 25, false) == WB_HTTP_DONE);
    CHECK(r.status == 200 && r.body_len == 0);
}

static void test_malformed(void)
{
    static const char *bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
        "HTTP/1.1 101 Switching\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
    };
    char buf[128];
    wb_http_resp r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = strlen(bad[i]);
        memcpy(buf, bad[i], n);
        wb_http_resp_reset(&r);
        int rv = wb_http_parse(&r, buf, n, false);
        if (rv >= 0)
            fprintf(stderr, "accepted: %s", bad[i]);
        CHECK(rv < 0);
    }
    /* a header block that never ends */
    static char big[WB_HTTP_MAX_HEADER + 100];
    memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
    memset(big + 17, 'a', sizeof(big) - 17);
    wb_http_resp_reset(&r);
    CHECK(wb_http_parse(&r, big, sizeof(big), false) == -EPROTO);
    /* nothing yet, then eof */
    wb_http_resp_reset(&r);
    CHECK(wb_http_parse(&r, buf, 0, false) == WB_HTTP_MORE);
    CHECK(wb_http_parse(&r, buf, 0, true) == -ECONNRESET);
}

static void test_request(void)
{
    char out[256];
    int n = wb_http_write_request(out, sizeof(out), WB_GET, "/stock/find/1", 13, "h:80");

    CHECK(n > 0);
    out[n > 0 ? n : 0] = '\0';
    CHECK_STR(out, "GET /stock/find/1 HTTP/1.1\r\nHost: h:80\r\n\r\n");
    n = wb_http_write_request(out, sizeof(out), WB_POST, "/orders/checkout/7", 18, "h");
    out[n > 0 ? n : 0] = '\0';
    CHECK_STR(out, "POST /orders/checkout/7 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    CHECK(wb_http_write_request(out, 20, WB_GET, "/stock/find/1", 13, "h") == -ENOSPC);
}

static void test_url(void)
{
    wb_url u;

    CHECK(wb_http_parse_url("http://127.0.0.1:8000", &u) == 0);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK_STR(u.port, "8000");
    CHECK_STR(u.authority, "127.0.0.1:8000");
    CHECK(wb_http_parse_url("http://localhost/x", &u) == 0);
    CHECK_STR(u.host, "localhost");
    CHECK_STR(u.port, "80");
    CHECK(wb_http_parse_url("http://[::1]:21080/", &u) == 0);
    CHECK_STR(u.host, "::1");
    CHECK_STR(u.port, "21080");
    CHECK_STR(u.authority, "[::1]:21080");
    CHECK(wb_http_parse_url("https://x", &u) == -EINVAL);
    CHECK(wb_http_parse_url("http://", &u) == -EINVAL);
    CHECK(wb_http_parse_url("http://h:0", &u) == -EINVAL);
    CHECK(wb_http_parse_url("http://h:65536", &u) == -EINVAL);
    CHECK(wb_http_parse_url("http://h:80x", &u) == -EINVAL);
    CHECK(wb_http_parse_url("http://:80", &u) == -EINVAL);
}

int main(void)
{
    test_content_length();
    test_chunked();
    test_close_and_versions();
    test_no_body_and_interim();
    test_malformed();
    test_request();
    test_url();
    return check_status("wb_http_test");
}

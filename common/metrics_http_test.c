/* metrics_http_test: the /metrics listener (metrics_http.c, on libmicrohttpd) against
 * good, bad, slow and too many clients, over loopback. Run it under ASan too
 * (WDM_SANITIZE): nothing may crash or leak. */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"
#include "metrics_process.h"

#define BODY "# TYPE t counter\nt 1\n"
#define TIMEOUT_S 1 /* the listener's idle timeout in this test */
#define TLS_HELLO "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" /* its first bytes */

/* A request literal and its length (it may hold NUL bytes). */
#define REQ(s) s, sizeof(s) - 1

#define BIG_LINES 100000 /* "t_<i> 1\n" each: a body far larger than a connection's memory */

static enum { RENDER_SMALL, RENDER_BIG, RENDER_FAILS } render_mode;

static int render_test(void *arg, FILE *out)
{
    (void)arg;
    if (render_mode == RENDER_FAILS)
        return -EIO;
    if (render_mode == RENDER_SMALL)
        fputs(BODY, out);
    for (int i = 0; render_mode == RENDER_BIG && i < BIG_LINES; i++)
        fprintf(out, "t_%d 1\n", i);
    return 0;
}

static int64_t ms_now(void)
{
    return (int64_t)(metrics_now_ns() / 1000000u);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A connection to 127.0.0.1:port whose reads give up after 3 s; -1 on failure. */
static int dial(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval tv = {3, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Everything the server sends until it closes (NUL-terminated, the caller's to free). */
static char *read_all(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t n;

    while (buf != NULL && (n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            char *p = realloc(buf, cap *= 2);
            if (p == NULL)
                free(buf);
            buf = p;
        }
    }
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

/* Sends len bytes of req (then half-closes when `shut`) and returns the whole answer. */
static char *exchange(uint16_t port, const char *req, size_t len, bool shut)
{
    int fd = dial(port);
    char *answer;

    CHECK(fd >= 0);
    if (fd < 0)
        return strdup("");
    send(fd, req, len, MSG_NOSIGNAL);
    if (shut)
        shutdown(fd, SHUT_WR);
    answer = read_all(fd);
    close(fd);
    return answer ? answer : strdup("");
}

/* The status code of an answer ("HTTP/1.1 404 ..."), or 0 (none). */
static int status_of(const char *answer)
{
    int status = 0;

    sscanf(answer, "HTTP/1.1 %d ", &status);
    return status;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int ask(uint16_t port, const char *req)
{
    char *answer = exchange(port, req, strlen(req), false);
    int status = status_of(answer);

    free(answer);
    return status;
}

static void test_good(uint16_t port)
{
    const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    char *a = exchange(port, req, strlen(req), false);

    CHECK(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(a, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
    CHECK(strstr(a, "\r\nContent-Length: 21\r\n") != NULL);
    CHECK(strstr(a, "\r\nConnection: close\r\n") != NULL);
    CHECK(ends_with(a, "\r\n\r\n" BODY));
    free(a);
    req = "HEAD /metrics HTTP/1.0\r\n\r\n";
    a = exchange(port, req, strlen(req), false);
    CHECK(status_of(a) == 200 && strstr(a, "Content-Length: 21\r\n") != NULL);
    CHECK(ends_with(a, "\r\n\r\n")); /* no body */
    free(a);
    CHECK(ask(port, "GET /metrics?name[]=x HTTP/1.1\nHost: x\n\n") == 200); /* bare LF */
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\nUser-Agent: \x80\xff\tx\r\n\r\n") == 200);
    CHECK(ask(port, "GET /%6detrics HTTP/1.1\r\n\r\n") == 200); /* MHD decodes the path */
}

/* A request sent a byte at a time is answered once complete. */
static void test_bytewise(uint16_t port)
{
    const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = dial(port);
    char *answer;

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    for (size_t i = 0; req[i] != '\0'; i++) {
        send(fd, req + i, 1, MSG_NOSIGNAL);
        sleep_ms(2);
    }
    answer = read_all(fd);
    CHECK(answer != NULL && status_of(answer) == 200 && strstr(answer, BODY) != NULL);
    free(answer);
    close(fd);
}

static void test_other_paths_and_methods(uint16_t port)
{
    const char *post = "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    char *a;

    CHECK(ask(port, "GET / HTTP/1.1\r\n\r\n") == 404);
    CHECK(ask(port, "GET /metricsx HTTP/1.1\r\n\r\n") == 404);
    CHECK(ask(port, "GET /metrics/ HTTP/1.1\r\n\r\n") == 404);
    CHECK(ask(port, "POST /other HTTP/1.1\r\n\r\n") == 404);
    a = exchange(port, post, strlen(post), false);
    CHECK(status_of(a) == 405 && strstr(a, "\r\nAllow: GET, HEAD\r\n") != NULL);
    CHECK(strstr(a, "\r\n\r\nMethod Not Allowed\n") != NULL);
    free(a);
    CHECK(ask(port, "get /metrics HTTP/1.1\r\n\r\n") == 405); /* methods are case-sensitive */
    /* MHD hands a target in absolute form over as it is: another path. */
    CHECK(ask(port, "GET http://host:9100/metrics HTTP/1.1\r\n\r\n") == 404);
    a = exchange(port, REQ("GET /x HTTP/1.1\r\n\r\n"), false);
    CHECK(status_of(a) == 404 && strstr(a, "\r\nConnection: close\r\n") != NULL);
    CHECK(ends_with(a, "\r\n\r\nNot Found\n"));
    free(a);
}

/* Requests MHD cannot parse get an error answer, or (when it cannot even read a request
 * line) the connection closed without one; those it takes although RFC 9112 would not
 * (metrics_http.h) are answered like any request. Either comes at once, well before the
 * idle timeout, and the connection then closes. */
static void test_garbage(uint16_t port)
{
    static const struct {
        const char *req;
        size_t len;
        int status; /* 0: closed without an answer */
    } cases[] = {
        {REQ(TLS_HELLO "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n"), 0}, /* with a line feed */
        {REQ("hello\r\n\r\n"), 0},
        {REQ("GET /metrics HTTP/2.0\r\n\r\n"), 505},
        {REQ("GET /metrics HTTP/9.9\r\n\r\n"), 505},
        {REQ("GET /metrics HTTP/1.1 \r\n\r\n"), 400},
        {REQ("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n"), 400},
        {REQ("GET /metrics HTTP/1.1\r\r\n\r\n"), 400},
        /* what MHD takes */
        {REQ("GET  /metrics HTTP/1.1\r\n\r\n"), 200},
        {REQ("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n"), 200},
        {REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 200},
        {REQ("GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n"), 200},
        {REQ("GET /metrics HTTP/1.1\r\nHost: \0x\r\n\r\n"), 200},
        {REQ("GET /met\x01rics HTTP/1.1\r\n\r\n"), 404},
        {REQ("GET metrics HTTP/1.1\r\n\r\n"), 404},
        {REQ("GE(T /metrics HTTP/1.1\r\n\r\n"), 405},
    };
    int64_t start, took;
    char *a;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start = ms_now();
        a = exchange(port, cases[i].req, cases[i].len, false);
        took = ms_now() - start;
        if (status_of(a) != cases[i].status || took >= TIMEOUT_S * 1000 / 2)
            fprintf(stderr, "garbage %zu: got %d after %lld ms, want %d\n", i, status_of(a),
                    (long long)took, cases[i].status);
        CHECK(status_of(a) == cases[i].status && took < TIMEOUT_S * 1000 / 2);
        CHECK(cases[i].status == 0 ? a[0] == '\0'
                                   : strstr(a, "\r\nConnection: close\r\n") != NULL);
        free(a);
    }
    /* Nothing at all, then closed: no answer. */
    a = exchange(port, "", 0, true);
    CHECK(a[0] == '\0');
    free(a);
}

static void test_huge(uint16_t port)
{
    size_t len = 3 * METRICS_HTTP_CONN_MEMORY;
    char *req = malloc(len), *a;

    CHECK(req != NULL);
    if (req == NULL)
        return;
    memcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
    memset(req + 30, 'a', len - 30);
    a = exchange(port, req, len, false);
    CHECK(status_of(a) == 431);
    free(a);
    /* A request line longer than the limit. */
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', len - 5);
    a = exchange(port, req, len, false);
    CHECK(status_of(a) == 414);
    free(a);
    free(req);
}

/* A client that stops sending in the middle of its request (also one that sends no line
 * end at all), or sends nothing, is closed without an answer once the idle timeout
 * passes. One that half-closes in the middle is closed without an answer by then. */
static void test_slow(uint16_t port)
{
    static const struct {
        const char *req;
        size_t len;
    } slow[] = {
        {REQ("GET /metrics HTTP/1.1\r\nHost: x\r\n")},
        {REQ(TLS_HELLO)},
        {REQ("")},
    };
    int64_t start, took;
    char *a;

    for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
        start = ms_now();
        a = exchange(port, slow[i].req, slow[i].len, false);
        took = ms_now() - start;
        CHECK(a[0] == '\0');
        if (took < TIMEOUT_S * 1000 - 10 || took >= TIMEOUT_S * 1000 + 1500)
            fprintf(stderr, "slow %zu: closed after %lld ms\n", i, (long long)took);
        CHECK(took >= TIMEOUT_S * 1000 - 10 && took < TIMEOUT_S * 1000 + 1500);
        free(a);
    }
    start = ms_now();
    a = exchange(port, REQ("GET /metr"), true);
    CHECK(a[0] == '\0' && ms_now() - start < TIMEOUT_S * 1000 + 1500);
    free(a);
}

/* Idle connections take slots, not the thread: with all slots but one taken a scrape
 * gets through at once. Once all are taken, a new connection waits in the backlog until
 * the idle ones time out, and is served then. */
static void test_crowd(uint16_t port)
{
    int fds[METRICS_HTTP_CONNS];
    int64_t start, took;

    for (size_t i = 0; i < METRICS_HTTP_CONNS; i++) {
        fds[i] = dial(port);
        CHECK(fds[i] >= 0);
        if (i < METRICS_HTTP_CONNS - 1)
            send(fds[i], "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
    }
    sleep_ms(100); /* let the server take them all */
    close(fds[METRICS_HTTP_CONNS - 1]); /* frees the last slot */
    sleep_ms(100);
    start = ms_now();
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 200);
    took = ms_now() - start;
    CHECK(took < TIMEOUT_S * 1000 / 2); /* not after the others timed out */

    fds[METRICS_HTTP_CONNS - 1] = dial(port); /* all slots taken again */
    sleep_ms(100);
    start = ms_now();
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 200);
    took = ms_now() - start;
    if (took < TIMEOUT_S * 1000 / 2 || took >= TIMEOUT_S * 1000 + 1500)
        fprintf(stderr, "crowd: a scrape past the limit took %lld ms\n", (long long)took);
    CHECK(took >= TIMEOUT_S * 1000 / 2 && took < TIMEOUT_S * 1000 + 1500);
    for (size_t i = 0; i < METRICS_HTTP_CONNS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void test_render_failure(uint16_t port)
{
    render_mode = RENDER_FAILS;
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 500);
    render_mode = RENDER_SMALL;
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 200);
}

/* A body much larger than a connection's memory comes whole. */
static void test_big_body(uint16_t port)
{
    char *a, *body, last[32];
    size_t len = 0;

    render_mode = RENDER_BIG;
    a = exchange(port, REQ("GET /metrics HTTP/1.1\r\n\r\n"), false);
    render_mode = RENDER_SMALL;
    for (int i = 0; i < BIG_LINES; i++)
        len += (size_t)snprintf(last, sizeof(last), "t_%d 1\n", i);
    body = strstr(a, "\r\n\r\n");
    CHECK(status_of(a) == 200 && body != NULL && strlen(body + 4) == len);
    CHECK(strncmp(body != NULL ? body + 4 : "", "t_0 1\nt_1 1\n", 12) == 0);
    CHECK(ends_with(a, last));
    free(a);
}

static void test_addresses(uint16_t taken)
{
    static const char *const bad[] = {"", "9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x",
                                      "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+1",
                                      "127.0.0.1: 80", "127.0.0.1:123456", "127.0.0.1:80x",
                                      "no-such-host.invalid:9100"};
    metrics_http_config cfg = {.render = render_test};
    metrics_http *h;
    char addr[64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.addr = bad[i];
        CHECK(metrics_http_start(&h, &cfg) == -EINVAL);
    }
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)taken);
    cfg.addr = addr;
    CHECK(metrics_http_start(&h, &cfg) == -EADDRINUSE);
    cfg.addr = ":0"; /* every address */
    CHECK(metrics_http_start(&h, &cfg) == 0);
    if (h != NULL) {
        CHECK(ask(metrics_http_port(h), "GET /metrics HTTP/1.1\r\n\r\n") == 200);
        metrics_http_stop(h);
    }
    cfg.addr = "localhost:0";
    CHECK(metrics_http_start(&h, &cfg) == 0);
    metrics_http_stop(h);
}

/* The services' default text: the process registry and the process metrics. */
static void test_process_text(void)
{
    static metrics_family family = {
        .type = METRICS_COUNTER, .name = "wdm_test_total", .help = "A test counter."};
    char *text, *p;
    double started = 0, rss = 0;

    metrics_counter_add(metrics_series_get(&family, NULL, 0), 3);
    text = check_text(metrics_process_render, NULL);
    CHECK(strstr(text, "# TYPE wdm_test_total counter\nwdm_test_total 3\n") != NULL);
    CHECK((p = strstr(text, "\nprocess_resident_memory_bytes ")) != NULL);
    if (p != NULL)
        rss = strtod(p + 31, NULL);
    CHECK(rss > 100000 && rss < 1e10);
    CHECK(strstr(text, "\nprocess_virtual_memory_bytes ") != NULL);
    CHECK(strstr(text, "\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ") != NULL);
    CHECK(strstr(text, "\nprocess_open_fds ") != NULL);
    CHECK((p = strstr(text, "\nprocess_start_time_seconds ")) != NULL);
    if (p != NULL)
        started = strtod(p + 28, NULL);
    CHECK(started > (double)time(NULL) - 600 && started < (double)time(NULL) + 2);
    free(text);
    metrics_registry_clear(metrics_default());
}

int main(void)
{
    metrics_http_config cfg = {.addr = "127.0.0.1:0", .render = render_test,
                               .idle_timeout_s = TIMEOUT_S};
    metrics_http *h = NULL;
    uint16_t port;

    CHECK(metrics_http_start(&h, &cfg) == 0);
    if (h == NULL)
        return check_status("metrics_http_test");
    port = metrics_http_port(h);
    CHECK(port != 0);
    test_good(port);
    test_bytewise(port);
    test_other_paths_and_methods(port);
    test_garbage(port);
    test_huge(port);
    test_slow(port);
    test_crowd(port);
    test_render_failure(port);
    test_big_body(port);
    test_addresses(port);
    test_process_text();
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 200); /* still serving */
    /* Stopping with connections open closes them. */
    int idle = dial(port);
    metrics_http_stop(h);
    if (idle >= 0)
        close(idle);
    return check_status("metrics_http_test");
}

/* metrics_http_test: the /metrics listener against good, bad, slow and too many clients
 * (metrics_http.c). Run it under ASan too (WDM_SANITIZE): nothing may crash or leak. */
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
#define TIMEOUT_MS 300 /* the listener's read timeout in this test */

static bool render_fails;

static int render_test(void *arg, FILE *out)
{
    (void)arg;
    if (render_fails)
        return -EIO;
    fputs(BODY, out);
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

/* The status code of an answer ("HTTP/1.1 404 ..."), or 0. */
static int status_of(const char *answer)
{
    int status = 0;

    sscanf(answer, "HTTP/1.1 %d ", &status);
    return status;
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

    CHECK_STR(a, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                 "Content-Length: 21\r\nConnection: close\r\n\r\n" BODY);
    free(a);
    req = "HEAD /metrics HTTP/1.0\r\n\r\n";
    a = exchange(port, req, strlen(req), false);
    CHECK(status_of(a) == 200 && strstr(a, "Content-Length: 21\r\n") != NULL);
    CHECK(strlen(a) >= 4 && strcmp(a + strlen(a) - 4, "\r\n\r\n") == 0); /* no body */
    free(a);
    CHECK(ask(port, "GET /metrics?name[]=x HTTP/1.1\nHost: x\n\n") == 200); /* bare LF */
    CHECK(ask(port, "GET http://host:9100/metrics HTTP/1.1\r\n\r\n") == 200);
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\nUser-Agent: \x80\xff\tx\r\n\r\n") == 200);
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
}

static void test_garbage(uint16_t port)
{
    static const char *const bad[] = {
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS hello: at once */
        "hello\r\n\r\n",
        "\r\n\r\n",
        "GET /metrics HTTP/2.0\r\n\r\n",
        "GET /metrics HTTP/1.1 \r\n\r\n",
        "GET  /metrics HTTP/1.1\r\n\r\n",
        "GET metrics HTTP/1.1\r\n\r\n",
        "GE(T /metrics HTTP/1.1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
        "GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "GET /met\x01rics HTTP/1.1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\r\n\r\n",
    };
    char with_nul[] = "GET /metrics HTTP/1.1\r\nHost: \0x\r\n\r\n";
    char *a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status = ask(port, bad[i]);
        if (status != 400)
            fprintf(stderr, "garbage %zu: got %d\n", i, status);
        CHECK(status == 400);
    }
    a = exchange(port, with_nul, sizeof(with_nul) - 1, false);
    CHECK(status_of(a) == 400);
    free(a);
    /* Cut short, then the client's write side closes: 400 at once. */
    a = exchange(port, "GET /metr", 9, true);
    CHECK(status_of(a) == 400);
    free(a);
    /* Nothing at all, then closed: no answer. */
    a = exchange(port, "", 0, true);
    CHECK(a[0] == '\0');
    free(a);
}

static void test_huge(uint16_t port)
{
    size_t len = 3 * METRICS_HTTP_REQUEST_MAX;
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
    CHECK(status_of(a) == 431);
    free(a);
    free(req);
}

/* A client that never finishes its request gets 408 once the read timeout passes; one
 * that sends nothing is closed without an answer. */
static void test_slow(uint16_t port)
{
    int64_t start = ms_now(), took;
    int fd = dial(port);
    char *a;

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n", 32, MSG_NOSIGNAL);
    a = read_all(fd);
    took = ms_now() - start;
    CHECK(a != NULL && status_of(a) == 408);
    CHECK(took >= TIMEOUT_MS - 10 && took < TIMEOUT_MS + 1500);
    free(a);
    close(fd);

    fd = dial(port);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    a = read_all(fd);
    CHECK(a != NULL && a[0] == '\0');
    free(a);
    close(fd);
}

/* More idle connections than slots: the oldest make way, a scrape still gets through. */
static void test_crowd(uint16_t port)
{
    int fds[METRICS_HTTP_CONNS + 4];
    int64_t start;

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        fds[i] = dial(port);
        send(fds[i], "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
        CHECK(fds[i] >= 0);
    }
    start = ms_now();
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 200);
    CHECK(ms_now() - start < TIMEOUT_MS / 2); /* not after the others timed out */
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void test_render_failure(uint16_t port)
{
    render_fails = true;
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 500);
    render_fails = false;
    CHECK(ask(port, "GET /metrics HTTP/1.1\r\n\r\n") == 200);
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
                               .read_timeout_ms = TIMEOUT_MS};
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

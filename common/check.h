/* check: the few assertions our unit tests (*_test.c) use. A failed check is reported
 * and counted, and the test goes on; main returns check_status(). */
#ifndef WDM_CHECK_H
#define WDM_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);           \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

#define CHECK_STR(got, want)                                                                   \
    do {                                                                                       \
        const char *got_ = (got), *want_ = (want);                                             \
        if (got_ == NULL || strcmp(got_, want_) != 0) {                                        \
            fprintf(stderr, "%s:%d: got   %s\n%*s  want  %s\n", __FILE__, __LINE__,            \
                    got_ ? got_ : "(null)", (int)strlen(__FILE__) + 6, "", want_);             \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

/* What write(arg, out) writes, as a NUL-terminated string (the caller's to free); a
 * failed write is a failed check. For tests of text renderers. */
static inline char *check_text(int (*write)(void *arg, FILE *out), void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    CHECK(f != NULL);
    if (f == NULL)
        return strdup("");
    CHECK(write(arg, f) == 0);
    CHECK(fclose(f) == 0);
    return text;
}

static inline int check_status(const char *name)
{
    if (check_failures > 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif

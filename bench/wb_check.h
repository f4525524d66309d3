/* wb_check: named PASS/FAIL checks with evidence, as a scenario's verdict.
 *
 * A check passes until evidence against it is added. The first WB_CHECK_EVIDENCE pieces
 * of evidence are kept (for the report); the rest are only counted. Fixed size: nothing
 * is allocated. */
#ifndef WB_CHECK_H
#define WB_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#define WB_CHECK_EVIDENCE 5
#define WB_CHECK_TEXT     256
#define WB_MAX_CHECKS     16

typedef struct wb_check {
    char name[WB_CHECK_TEXT];
    bool ok;
    char evidence[WB_CHECK_EVIDENCE][WB_CHECK_TEXT];
    unsigned kept;
    uint64_t total; /* pieces of evidence, kept or not */
} wb_check;

typedef struct wb_checks {
    wb_check v[WB_MAX_CHECKS];
    unsigned n;
    wb_check spill; /* where checks beyond WB_MAX_CHECKS go (not reported): never NULL */
} wb_checks;

/* Adds a passing check named by the format; returns it (never NULL). */
wb_check *wb_check_add(wb_checks *cs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks c failed, with one piece of evidence. */
void wb_check_fail(wb_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Do all checks pass (and is there at least one)? */
bool wb_checks_ok(const wb_checks *cs);

#endif

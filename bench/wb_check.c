/* wb_check: PASS/FAIL checks with evidence (see wb_check.h). */
#include "wb_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

wb_check *wb_check_add(wb_checks *cs, const char *fmt, ...)
{
    wb_check *c = cs->n < WB_MAX_CHECKS ? &cs->v[cs->n++] : &cs->spill;
    va_list ap;

    memset(c, 0, sizeof(*c));
    c->ok = true;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof(c->name), fmt, ap);
    va_end(ap);
    return c;
}

void wb_check_fail(wb_check *c, const char *fmt, ...)
{
    va_list ap;

    c->ok = false;
    if (c->kept < WB_CHECK_EVIDENCE) {
        va_start(ap, fmt);
        vsnprintf(c->evidence[c->kept++], WB_CHECK_TEXT, fmt, ap);
        va_end(ap);
    }
    c->total++;
}

bool wb_checks_ok(const wb_checks *cs)
{
    if (cs->n == 0)
        return false;
    for (unsigned i = 0; i < cs->n; i++)
        if (!cs->v[i].ok)
            return false;
    return true;
}

/* config: process settings from environment variables.
 *
 * Every setting has one name everywhere (local launcher, compose, helm): WDM_<NAME>.
 * The README lists them all. A malformed value is a startup error, never a silent default. */
#ifndef WDM_CONFIG_H
#define WDM_CONFIG_H

#include <stdint.h>

/* Returns the variable's value, or def when it is unset or empty. Not copied: the
 * string belongs to the environment. */
const char *config_str(const char *name, const char *def);

/* Reads an integer setting in [min, max] into *out (def when unset).
 * Returns 0, or -EINVAL (and logs why) when the value is not such an integer. */
int config_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out);

#endif

/* wb_plot: the per-second series of a run as CSV (--series) and as a picture drawn by
 * gnuplot (--plot; Debian's gnuplot-nox): latency percentiles on top, throughput and
 * errors below. */
#ifndef WB_PLOT_H
#define WB_PLOT_H

#include "wb_stats.h"

/* Writes one row per second to path: t,rps,p50_ms,p90_ms,p99_ms,max_ms,errors.
 * Returns 0 or a negative errno. */
int wb_series_csv(const char *path, const wb_stats *s);

/* Draws the series of s, written to csv by wb_series_csv, into the PNG at png, titled
 * title, by running gnuplot.
 * Returns 0, -ENODATA when s has no row (a run shorter than a second: nothing to draw,
 * no PNG), -ENOENT when gnuplot is not installed, or another negative errno (-EIO:
 * gnuplot failed; its own message is on stderr). */
int wb_plot_png(const wb_stats *s, const char *csv, const char *png, const char *title);

#endif

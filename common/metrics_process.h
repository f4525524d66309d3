/* metrics_process: the standard process_* metrics of this process, as Prometheus text.
 *
 *   process_resident_memory_bytes   gauge    resident set size (/proc/self/statm)
 *   process_virtual_memory_bytes    gauge    virtual memory size (/proc/self/statm)
 *   process_cpu_seconds_total       counter  user + system CPU time (getrusage)
 *   process_open_fds                gauge    open file descriptors (/proc/self/fd)
 *   process_start_time_seconds      gauge    start time, seconds since the Unix epoch
 *                                            (/proc/self/stat and /proc/stat's btime)
 *
 * Read anew at every call (a scrape): a few small /proc reads, no state kept. */
#ifndef WDM_METRICS_PROCESS_H
#define WDM_METRICS_PROCESS_H

#include <stdio.h>

/* Appends the process metrics to out; a figure that cannot be read is left out.
 * Returns 0, or -EIO when writing to out failed. */
int metrics_process_write(FILE *out);

/* Appends all a process shows on /metrics of the common kind: the process registry
 * (metrics_default) and the process metrics. arg is unused (it is a
 * metrics_http_render_fn). Returns 0 or -EIO. */
int metrics_process_render(void *arg, FILE *out);

#endif

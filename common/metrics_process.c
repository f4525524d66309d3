/* metrics_process: process_* metrics read from /proc and getrusage (see metrics_process.h). */
#include "metrics_process.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"

/* Reads up to size-1 bytes of a small file into buf (NUL-terminated).
 * Returns true when something was read. */
static bool read_small(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (f == NULL)
        return false;
    n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* Virtual and resident size in bytes, from /proc/self/statm (in pages). */
static bool memory_bytes(uint64_t *vsize, uint64_t *rss)
{
    char buf[256];
    long page = sysconf(_SC_PAGESIZE);

    if (page <= 0 || !read_small("/proc/self/statm", buf, sizeof(buf)) ||
        sscanf(buf, "%" SCNu64 " %" SCNu64, vsize, rss) != 2)
        return false;
    *vsize *= (uint64_t)page;
    *rss *= (uint64_t)page;
    return true;
}

/* The boot time in seconds since the epoch: the btime line of /proc/stat (after the
 * per-CPU and interrupt lines, which can be long: read line by line). */
static bool boot_time(unsigned long long *out)
{
    FILE *f = fopen("/proc/stat", "re");
    char *line = NULL;
    size_t cap = 0;
    bool found = false;

    if (f == NULL)
        return false;
    while (!found && getline(&line, &cap, f) > 0)
        found = sscanf(line, "btime %llu", out) == 1;
    free(line);
    fclose(f);
    return found;
}

/* The process's start time in seconds since the epoch: its start in clock ticks after
 * boot (field 22 of /proc/self/stat) plus the boot time. */
static bool start_time(double *out)
{
    char buf[1024];
    const char *p;
    unsigned long long ticks, boot;
    long hz = sysconf(_SC_CLK_TCK);
    int field;

    if (hz <= 0 || !read_small("/proc/self/stat", buf, sizeof(buf)) ||
        (p = strrchr(buf, ')')) == NULL)
        return false;
    /* p is at the end of "pid (comm)": field k + 2 follows the k-th space after it. */
    for (field = 2; field < 22 && (p = strchr(p + 1, ' ')) != NULL; field++)
        ;
    if (p == NULL || sscanf(p, " %llu", &ticks) != 1 || !boot_time(&boot))
        return false;
    *out = (double)boot + (double)ticks / (double)hz;
    return true;
}

/* The number of open file descriptors (without the one that reads the directory). */
static bool open_fds(uint64_t *out)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    uint64_t n = 0;

    if (d == NULL)
        return false;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    *out = n > 0 ? n - 1 : 0;
    return true;
}

int metrics_process_write(FILE *out)
{
    struct rusage ru;
    uint64_t vsize, rss, fds;
    double started;

    if (memory_bytes(&vsize, &rss)) {
        metrics_write_header(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                             METRICS_GAUGE);
        metrics_write_u64(out, "process_resident_memory_bytes", NULL, NULL, 0, rss);
        metrics_write_header(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             METRICS_GAUGE);
        metrics_write_u64(out, "process_virtual_memory_bytes", NULL, NULL, 0, vsize);
    }
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        metrics_write_header(out, "process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.", METRICS_COUNTER);
        fprintf(out, "process_cpu_seconds_total %.6f\n", cpu);
    }
    if (open_fds(&fds)) {
        metrics_write_header(out, "process_open_fds", "Number of open file descriptors.",
                             METRICS_GAUGE);
        metrics_write_u64(out, "process_open_fds", NULL, NULL, 0, fds);
    }
    if (start_time(&started)) {
        metrics_write_header(out, "process_start_time_seconds",
                             "Start time of the process since the Unix epoch in seconds.",
                             METRICS_GAUGE);
        fprintf(out, "process_start_time_seconds %.2f\n", started);
    }
    return ferror(out) ? -EIO : 0;
}

int metrics_process_render(void *arg, FILE *out)
{
    int rv;

    (void)arg;
    if ((rv = metrics_render(metrics_default(), out)) != 0)
        return rv;
    return metrics_process_write(out);
}

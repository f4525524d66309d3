/* wb_plot: the time series as CSV and as a gnuplot PNG (see wb_plot.h). */
#include "wb_plot.h"

#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>

int wb_series_csv(const char *path, const wb_stats *s)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -errno;
    fputs("t,rps,p50_ms,p90_ms,p99_ms,max_ms,errors\n", f);
    for (size_t i = 0; i < s->nrows; i++) {
        const wb_series_row *r = &s->rows[i];
        fprintf(f, "%.3f,%.1f,%.3f,%.3f,%.3f,%.3f,%llu\n", r->t, r->rps, r->p50 / 1000.0,
                r->p90 / 1000.0, r->p99 / 1000.0, r->max / 1000.0, (unsigned long long)r->errors);
    }
    if (ferror(f)) {
        fclose(f);
        return -EIO;
    }
    return fclose(f) == 0 ? 0 : -errno;
}

/* Writes s as a gnuplot single-quoted string (a quote inside is doubled). */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

int wb_plot_png(const wb_stats *s, const char *csv, const char *png, const char *title)
{
    FILE *g;
    uint64_t max_errors = 1; /* the errors axis: at least 0..1, so an empty one draws too */
    int status;

    if (s->nrows == 0)
        return -ENODATA;
    for (size_t i = 0; i < s->nrows; i++)
        if (s->rows[i].errors > max_errors)
            max_errors = s->rows[i].errors;
    if ((g = popen("exec gnuplot", "w")) == NULL)
        return -errno;
    fputs("set terminal pngcairo size 1100,800 noenhanced\nset output ", g);
    put_quoted(g, png);
    fputs("\nset datafile separator ','\nset datafile columnheaders\n"
          "set multiplot layout 2,1 title ",
          g);
    put_quoted(g, title);
    fputs("\nset grid\nset key below horizontal\nset rmargin 12\nset xrange [0:*]\n"
          "set xlabel 'seconds'\n"
          "set ylabel 'latency (ms)'\nset logscale y\nplot ",
          g);
    put_quoted(g, csv);
    fputs(" using 1:3 with lines lw 2 title 'p50', '' using 1:4 with lines lw 2 title 'p90',"
          " '' using 1:5 with lines lw 2 title 'p99', '' using 1:6 with lines title 'max'\n"
          "unset logscale y\nset ylabel 'requests/s'\nset yrange [0:1<*]\nset ytics nomirror\n"
          "set y2label 'errors/s'\nset y2tics\n",
          g);
    fprintf(g, "set y2range [0:%llu]\nplot ", (unsigned long long)(max_errors + max_errors / 10));
    put_quoted(g, csv);
    fputs(" using 1:2 with lines lw 2 title 'requests/s' axes x1y1,"
          " '' using 1:7 with impulses lw 3 title 'errors/s' axes x1y2\nunset multiplot\n",
          g);
    status = pclose(g);
    if (status < 0)
        return -errno;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return -ENOENT;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

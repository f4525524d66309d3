/* log: one-line, timestamped log records on stderr.
 *
 * Level comes from WDM_LOG_LEVEL (debug, info, warn, error; default info). Safe to call
 * from any thread: each record is written with a single write(2). */
#ifndef WDM_LOG_H
#define WDM_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the program name printed in every record and reads WDM_LOG_LEVEL. */
void log_init(const char *program);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif

/* cloudgate: logging.  One line per event, to stderr or the configured file;
 * thread-safe.  Never pass secrets. */
#ifndef CG_LOG_H
#define CG_LOG_H

typedef enum { CG_LOG_DEBUG, CG_LOG_INFO, CG_LOG_WARN, CG_LOG_ERROR } cg_log_level;

/* Open path for appending (NULL: stderr) and set the minimum level. 0 or -1. */
int cg_log_init(const char *path, cg_log_level min_level);

void cg_log(cg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cg_debug(...) cg_log(CG_LOG_DEBUG, __VA_ARGS__)
#define cg_info(...) cg_log(CG_LOG_INFO, __VA_ARGS__)
#define cg_warn(...) cg_log(CG_LOG_WARN, __VA_ARGS__)
#define cg_err(...) cg_log(CG_LOG_ERROR, __VA_ARGS__)

#endif

/* cloudgate: logging, one line per event. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static FILE *log_fp;
static cg_log_level log_min = CG_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int cg_log_init(const char *path, cg_log_level min_level)
{
    FILE *fp = stderr;

    if (path && *path) {
        fp = fopen(path, "ae"); /* a child writes its own log, never ours */
        if (!fp)
            return -1;
        setvbuf(fp, NULL, _IOLBF, 0);
    }
    pthread_mutex_lock(&log_lock);
    if (log_fp && log_fp != stderr)
        fclose(log_fp);
    log_fp = fp;
    log_min = min_level;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void cg_log(cg_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char stamp[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (level < log_min)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    pthread_mutex_lock(&log_lock);
    FILE *fp = log_fp ? log_fp : stderr;
    fprintf(fp, "%s.%03dZ %s ", stamp, (int)(tv.tv_usec / 1000), names[level]);
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fputc('\n', fp);
    fflush(fp);
    pthread_mutex_unlock(&log_lock);
}

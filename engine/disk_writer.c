/* cloudgate engine: the disk writer (see disk_writer.h).
 *
 * Two buffers: the caller fills `fill`; a full one is handed over as
 * `ready` to the thread, which sends it and hands it back.  The caller
 * waits only when it has filled the second buffer before the first one was
 * sent.
 */
#include "disk_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cg_disk_writer {
    const cg_core *core;
    cg_disk_sink *sink;
    size_t chunk;
    unsigned char *fill;      /* the caller's buffer */
    size_t fill_len;
    unsigned char *ready;     /* handed to the thread, NULL when none */
    size_t ready_len;
    unsigned char *spare;     /* the other buffer, when the thread is idle */
    int sending;              /* the thread is sending `ready` */
    int stop;
    int failed;
    cg_error err;             /* the failed send's error */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started;
};

static void *writer_thread(void *arg)
{
    cg_disk_writer *w = arg;
    const cg_core *c = w->core;
    unsigned char *buf;
    size_t len;
    cg_error err;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->ready && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->ready)
            break; /* stopping with nothing left to send */
        buf = w->ready;
        len = w->ready_len;
        w->sending = 1;
        pthread_mutex_unlock(&w->mu);

        memset(&err, 0, sizeof(err));
        int rc = w->failed ? -1
                           : CG_DRV_CALL(c->driver, c->drv, disk_sink_write, &err, w->sink, buf,
                                         len);

        pthread_mutex_lock(&w->mu);
        if (rc < 0 && !w->failed) {
            w->failed = 1;
            w->err = err;
        }
        w->ready = NULL;
        w->spare = buf;
        w->sending = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

cg_disk_writer *cg_disk_writer_new(const cg_core *c, cg_disk_sink *sink, size_t chunk,
                                   cg_error *err)
{
    cg_disk_writer *w = calloc(1, sizeof(*w));

    if (!w || !(w->fill = malloc(chunk)) || !(w->spare = malloc(chunk))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        if (w) {
            free(w->fill);
            free(w);
        }
        return NULL;
    }
    w->core = c;
    w->sink = sink;
    w->chunk = chunk;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_thread, w) != 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot start a writer thread");
        cg_disk_writer_free(w);
        return NULL;
    }
    w->started = 1;
    return w;
}

/* Hand the filled buffer over (waiting for the previous send) and take the
 * spare one.  0 or -1 when a send has failed. */
static int hand_over(cg_disk_writer *w, cg_error *err)
{
    int ret = 0;

    pthread_mutex_lock(&w->mu);
    while (w->ready && !w->failed)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->failed) {
        *err = w->err;
        ret = -1;
    } else if (w->fill_len) {
        w->ready = w->fill;
        w->ready_len = w->fill_len;
        w->fill = w->spare;
        w->spare = NULL;
        w->fill_len = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return ret;
}

int cg_disk_writer_write(cg_disk_writer *w, const void *buf, size_t len, cg_error *err)
{
    const unsigned char *b = buf;

    while (len) {
        size_t take = w->chunk - w->fill_len;

        if (take > len)
            take = len;
        memcpy(w->fill + w->fill_len, b, take);
        w->fill_len += take;
        b += take;
        len -= take;
        if (w->fill_len == w->chunk && hand_over(w, err) < 0)
            return -1;
    }
    return 0;
}

int cg_disk_writer_flush(cg_disk_writer *w, cg_error *err)
{
    int ret;

    if (hand_over(w, err) < 0)
        return -1;
    pthread_mutex_lock(&w->mu);
    while ((w->ready || w->sending) && !w->failed)
        pthread_cond_wait(&w->cv, &w->mu);
    ret = w->failed ? -1 : 0;
    if (ret < 0)
        *err = w->err;
    pthread_mutex_unlock(&w->mu);
    return ret;
}

void cg_disk_writer_free(cg_disk_writer *w)
{
    if (!w)
        return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        w->failed = 1; /* a buffer still handed over is dropped, not sent */
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->fill);
    free(w->spare);
    free(w->ready);
    free(w);
}

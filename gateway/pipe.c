/* cloudgate: a pipe (see pipe.h).
 *
 * Two buffers: the caller fills `fill`; a full one is handed over as
 * `ready` to the thread, which consumes it and hands it back.  The caller
 * waits only when it has filled the second buffer before the first one was
 * consumed.
 */
#include "pipe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cg_pipe {
    cg_pipe_fn fn;
    void *arg;
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

static void *pipe_thread(void *arg)
{
    cg_pipe *w = arg;
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
        int rc = w->failed ? -1 : w->fn(w->arg, buf, len, &err);

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

cg_pipe *cg_pipe_new(size_t chunk, cg_pipe_fn fn, void *arg, cg_error *err)
{
    cg_pipe *w = calloc(1, sizeof(*w));

    if (!w || !(w->fill = malloc(chunk)) || !(w->spare = malloc(chunk))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        if (w) {
            free(w->fill);
            free(w);
        }
        return NULL;
    }
    w->fn = fn;
    w->arg = arg;
    w->chunk = chunk;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, pipe_thread, w) != 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot start a pipe thread");
        cg_pipe_free(w);
        return NULL;
    }
    w->started = 1;
    return w;
}

/* Hand the filled buffer over (waiting for the previous send) and take the
 * spare one.  0 or -1 when a send has failed. */
static int hand_over(cg_pipe *w, cg_error *err)
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

int cg_pipe_write(cg_pipe *w, const void *buf, size_t len, cg_error *err)
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

int cg_pipe_flush(cg_pipe *w, cg_error *err)
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

void cg_pipe_free(cg_pipe *w)
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

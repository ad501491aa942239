/* cloudgate engine: the disk writer (see disk_writer.h): a pipe
 * (gateway/pipe.h) whose consumer is the driver's disk sink. */
#include "disk_writer.h"

#include <stdlib.h>

#include "../gateway/pipe.h"

struct cg_disk_writer {
    const cg_core *core;
    cg_disk_sink *sink;
    cg_pipe *pipe;
};

static int send_chunk(void *arg, const void *buf, size_t len, cg_error *err)
{
    cg_disk_writer *w = arg;

    return CG_DRV_CALL(w->core->driver, w->core->drv, disk_sink_write, err, w->sink, buf, len);
}

cg_disk_writer *cg_disk_writer_new(const cg_core *c, cg_disk_sink *sink, size_t chunk,
                                   cg_error *err)
{
    cg_disk_writer *w = calloc(1, sizeof(*w));

    if (!w) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    w->core = c;
    w->sink = sink;
    if (!(w->pipe = cg_pipe_new(chunk, send_chunk, w, err))) {
        free(w);
        return NULL;
    }
    return w;
}

int cg_disk_writer_write(cg_disk_writer *w, const void *buf, size_t len, cg_error *err)
{
    return cg_pipe_write(w->pipe, buf, len, err);
}

int cg_disk_writer_flush(cg_disk_writer *w, cg_error *err)
{
    return cg_pipe_flush(w->pipe, err);
}

void cg_disk_writer_free(cg_disk_writer *w)
{
    if (!w)
        return;
    cg_pipe_free(w->pipe);
    free(w);
}

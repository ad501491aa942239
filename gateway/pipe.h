/* cloudgate: a pipe into a consumer on a thread of its own.
 *
 * The caller writes bytes (copied); they are gathered into chunks and each
 * full chunk is handed to fn on the pipe's thread while the caller goes on
 * filling the next (two buffers).  Used where a producer must not wait for
 * a slow consumer: an import's bytes into libvirt (engine/disk_writer.c),
 * a Glance download's bytes into its sha512 (gateway/glance.c).
 */
#ifndef CG_PIPE_H
#define CG_PIPE_H

#include <stddef.h>

#include "error.h"

/* Consume len bytes.  0, or -1 with err set: the pipe then fails. */
typedef int (*cg_pipe_fn)(void *arg, const void *buf, size_t len, cg_error *err);

typedef struct cg_pipe cg_pipe;

/* A pipe into fn(arg, ...) with chunks of chunk bytes.  NULL with err set. */
cg_pipe *cg_pipe_new(size_t chunk, cg_pipe_fn fn, void *arg, cg_error *err);

/* Take len bytes (copied).  Fails (-1, err set) once fn has failed. */
int cg_pipe_write(cg_pipe *w, const void *buf, size_t len, cg_error *err);

/* Hand over what is gathered and wait until fn consumed every byte.  0 or -1. */
int cg_pipe_flush(cg_pipe *w, cg_error *err);

/* Stop the thread (waiting for fn under way) and free.  Unflushed bytes are
 * dropped.  Accepts NULL. */
void cg_pipe_free(cg_pipe *w);

#endif

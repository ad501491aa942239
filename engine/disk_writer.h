/* cloudgate engine: writing a stream of bytes into a driver's disk sink on a
 * thread of its own.
 *
 * Why: libcurl hands a download over in pieces of at most 16 KiB, and each
 * virStreamSend is a round trip to libvirtd (55,776 of them for an 885 MB
 * image, bench/README.md).  The writer gathers the bytes into large chunks
 * and sends them from its own thread, so the download and its hash go on
 * while the previous chunk travels to libvirtd (two buffers, one being
 * filled, one being sent).
 */
#ifndef CG_ENGINE_DISK_WRITER_H
#define CG_ENGINE_DISK_WRITER_H

#include <stddef.h>

#include "images.h"

typedef struct cg_disk_writer cg_disk_writer;

/* A writer into sink (which stays the caller's) with chunks of chunk bytes.
 * NULL with err set. */
cg_disk_writer *cg_disk_writer_new(const cg_core *c, cg_disk_sink *sink, size_t chunk,
                                   cg_error *err);

/* Take len bytes (copied).  Fails (-1, err set) once a send has failed. */
int cg_disk_writer_write(cg_disk_writer *w, const void *buf, size_t len, cg_error *err);

/* Send what is gathered and wait until every byte reached the sink.  0 or -1. */
int cg_disk_writer_flush(cg_disk_writer *w, cg_error *err);

/* Stop the thread (waiting for a send under way) and free.  Unflushed bytes
 * are dropped: after a failure the caller aborts the sink.  Accepts NULL. */
void cg_disk_writer_free(cg_disk_writer *w);

#endif

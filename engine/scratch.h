/* cloudgate engine: a process's scratch directory.
 *
 * Temporary files (cloud-init seed trees, libguestfs overlays, the files
 * virt-sysprep and virt-v2v make) live under STATE_DIR/tmp, one directory
 * per process, named by TMPDIR for this process and the tools it runs.  A
 * process killed with SIGKILL cannot remove its own; the next one to start
 * removes every directory whose owner is gone (its lock is free), so they
 * do not pile up in /tmp.  The daemon and the admin CLI both use it.
 */
#ifndef CG_ENGINE_SCRATCH_H
#define CG_ENGINE_SCRATCH_H

#include "../gateway/error.h"

/* Sweep STATE_DIR/tmp, make this process's directory and point TMPDIR at
 * it (libguestfs' appliance cache stays in LIBGUESTFS_CACHEDIR, default
 * /var/tmp, shared and kept).  Before any thread.  Returns how many dead
 * owners' directories were removed, or -1 with err. */
int cg_scratch_init(const char *state_dir, cg_error *err);

/* Remove this process's directory (at a clean exit). */
void cg_scratch_fini(void);

#endif

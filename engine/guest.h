/* cloudgate engine: looking into and sealing guest disks (libguestfs, in
 * child processes: cloudgate-inspect and virt-sysprep).
 *
 * Both work on local disk files (a template's volume paths, from the
 * driver's image_disk_paths) and block: call from job threads only.
 */
#ifndef CG_ENGINE_GUEST_H
#define CG_ENGINE_GUEST_H

#include "../drivers/driver.h"

/* Inspect the disks of one guest (guestfs_inspect_os, read-only): type,
 * distro, version, arch, product name, and whether cloud-init is installed.
 * A disk with no operating system found gives type "unknown" (0, not an
 * error).  0 or -1 (libguestfs failed: err says why). */
int cg_guest_inspect(const cg_disk_paths *disks, cg_os_info *out, cg_error *err);

/* Poll: non-zero to stop (the tool is killed). */
typedef int (*cg_guest_cancel_fn)(void *arg);

/* Seal the disks of one guest together with virt-sysprep and its default
 * operations (machine-id, SSH host keys, udev persistent net rules, logs,
 * hostname...).  The tool's output is appended to log_fd (-1: discarded).
 * It runs in a process group of its own; cancelled (polled at least every
 * half second; may be NULL) kills the whole group.  A Windows guest is
 * refused before anything runs (os, when non-NULL, is the inspection
 * result; else this inspects).  tag (may be NULL: the image id) goes into
 * the environment of everything it starts (CG_TOOL_TAG_ENV).  0 or -1 (CG_ERR_STATE "cancelled"
 * when cancelled; CG_ERR_INVALID for Windows). */
int cg_guest_seal(const cg_disk_paths *disks, const cg_os_info *os, const char *tag, int log_fd,
                  cg_guest_cancel_fn cancelled, void *arg, cg_error *err);

/* After a crash: kill (with its process group) any virt-sysprep whose
 * command line contains match (an image id: its volumes' paths name it),
 * and every process that a seal tagged match (its appliance, wherever it
 * went), which the dead gateway started.  Returns how many. */
int cg_guest_kill_leftovers(const char *match);

#endif

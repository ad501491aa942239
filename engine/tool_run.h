/* cloudgate engine: running an external tool (virt-sysprep, virt-v2v) as
 * a job's child.
 *
 * The tool runs in a process group of its own (posix_spawn, no fork in
 * this multithreaded daemon), stdin /dev/null, stdout and stderr through a
 * pipe that this side appends to the job's log and, when asked, splits
 * into lines (at '\n' and '\r': progress bars redraw with '\r') for a
 * callback.  Cancel is polled at least every half second and kills the
 * whole group (the libguestfs appliance and nbdkit go with it).  Blocks:
 * job threads only.
 */
#ifndef CG_ENGINE_TOOL_RUN_H
#define CG_ENGINE_TOOL_RUN_H

#include <stdio.h>

#include "../gateway/error.h"

/* Poll: non-zero to stop (the tool's group is killed). */
typedef int (*cg_tool_cancel_fn)(void *arg);
/* One line of the tool's output, without its end ('\n' or '\r'). */
typedef void (*cg_tool_line_fn)(const char *line, void *arg);

typedef struct cg_tool_spec {
    char *const *argv;          /* argv[0] is looked up in PATH; NULL-terminated */
    const char *package;        /* named in the "not found" error, e.g. "guestfs-tools" */
    int log_fd;                 /* output appended here; -1: not kept */
    cg_tool_line_fn on_line;    /* NULL: no line parsing */
    cg_tool_cancel_fn cancelled;/* NULL: never cancelled */
    void *arg;                  /* for on_line and cancelled */
    const char *tag;            /* non-NULL: CG_TOOL_TAG_ENV=tag in its environment, see below */
} cg_tool_spec;

/* A tagged tool's descendants are found by their environment, not their
 * group: virt-v2v's qemu-nbd daemonizes (a session of its own), which a
 * kill of the group does not reach, and outlived its conversion. */
#define CG_TOOL_TAG_ENV "CLOUDGATE_TOOL_TAG"

/* Run the tool to its end.  0 when it exited 0; else -1 with err: CG_ERR_STATE
 * "cancelled", CG_ERR_UNSUPPORTED when it is not installed, CG_ERR_INTERNAL
 * "TOOL failed (exit N): <its last error line>".  Nothing of its group (and,
 * with a tag, nothing that carries the tag) is left running on return. */
int cg_tool_run(const cg_tool_spec *spec, cg_error *err);

/* An argv entry that cg_tool_run_input replaces with its input file. */
#define CG_TOOL_INPUT "\x01input"

/* cg_tool_run with text written to a temporary file under TMPDIR (the
 * gateway's scratch, swept after a crash), for tools that read a file
 * (iptables-restore, ipset restore): each argv entry that is
 * CG_TOOL_INPUT is replaced by its path.  The file is removed on return.
 * At most 15 arguments. */
int cg_tool_run_input(const cg_tool_spec *spec, const char *text, cg_error *err);

/* The end of a tool's input built with open_memstream(buf, ...) as f:
 * *buf when ok and f closed cleanly, else NULL with *buf freed (err set to
 * "out of memory" when ok). */
char *cg_tool_input_done(FILE *f, char **buf, int ok, cg_error *err);

/* After a crash: kill (with its process group) every process whose command
 * line contains both tool and match, and every process tagged match (see
 * tag), which a dead gateway started.  Returns how many. */
int cg_tool_kill_leftovers(const char *tool, const char *match);

/* libguestfs under a TCG-only zone (domain_type "qemu"): set
 * LIBGUESTFS_BACKEND=direct and LIBGUESTFS_BACKEND_SETTINGS=force_tcg for
 * the daemon's own libguestfs handles and every tool it runs, unless the
 * environment already says otherwise.  Call once at start-up, before any
 * thread starts (setenv). */
void cg_tool_env_init(const char *domain_type);

#endif

/* cloudgate: "container in a VM" — cloud-init user-data that runs one Docker
 * container on a template that has Docker installed.
 *
 * The result is a #cloud-config document whose runcmd (first boot only)
 * enables and starts the docker service, pulls the image and runs the
 * container detached with a restart policy, so Docker itself brings it back
 * on later boots.  Every user value is validated, shell-quoted (POSIX single
 * quotes where needed) and then YAML-quoted (a double-quoted scalar, pure
 * ASCII, non-ASCII written as \u escapes); control characters (newlines,
 * tabs, ...) and invalid UTF-8 are rejected rather than passed on.
 */
#ifndef CG_CONTAINER_USERDATA_H
#define CG_CONTAINER_USERDATA_H

#include <stddef.h>

#include "gateway/error.h"

/* EC2 RunInstances' limit on decoded user-data; longer output is refused. */
#define CG_CONTAINER_USERDATA_MAX 16384

/* Default container name and restart policy. */
#define CG_CONTAINER_DEFAULT_NAME "app"
#define CG_CONTAINER_DEFAULT_RESTART "unless-stopped"

typedef struct cg_container_spec {
    const char *image;              /* required: [registry/]repo[:tag][@digest] */
    const char *name;               /* NULL: CG_CONTAINER_DEFAULT_NAME */
    const char *restart;            /* NULL: unless-stopped; or no, always,
                                     * on-failure[:N] */
    const char *const *ports;       /* "[IP:]HOST:CONTAINER[/tcp|/udp|/sctp]" */
    size_t n_ports;
    const char *const *env;         /* "KEY=VALUE"; VALUE may be anything printable */
    size_t n_env;
    const char *const *command;     /* arguments after the image (the container's
                                     * command); none: the image's default */
    size_t n_command;
} cg_container_spec;

/* Build the user-data for spec.  Returns malloc'd NUL-terminated text the
 * caller frees, or NULL with err set (CG_ERR_MISSING: no image;
 * CG_ERR_INVALID: a bad value, named in the message). */
char *cg_container_userdata(const cg_container_spec *spec, cg_error *err);

/* Quote s for a POSIX shell like Python's shlex.quote: unchanged when it is
 * non-empty and only [A-Za-z0-9_@%+=:,./-], else in single quotes with each
 * ' written as '"'"'.  Returns malloc'd text or NULL on OOM. */
char *cg_shell_quote(const char *s);

/* The "container-userdata" command of cloudgate-admin: argv[0] is the
 * command name.  Prints the user-data to stdout; returns an exit status
 * (0, 1 on invalid values, 2 on usage errors). */
int cg_container_userdata_main(int argc, char **argv);

#endif

/* cloudgate: the "v2v" provider kind, an external VM source reached through
 * a libvirt URI ([v2v NAME]: uri, user, password_file).  Checks only: the
 * connection and listing are in drivers/libvirt/lv_v2v_source.c. */
#ifndef CG_V2V_PROVIDER_H
#define CG_V2V_PROVIDER_H

#include <stddef.h>

#include "providers.h"

extern const cg_provider_kind cg_v2v_kind;

/* A libvirt connection URI: a known driver (qemu, test, vpx, esx, xen, ...)
 * with an optional known transport (+ssh, +tcp, ...), parseable by libxml2,
 * no spaces or control characters.  Returns 0, or -1 with why filled. */
int cg_v2v_uri_check(const char *uri, char *why, size_t whylen);

/* password_file names a regular file this process can read (checked when
 * a provider is added; the daemon reads it only to answer libvirt).
 * Returns 0, or -1 with why filled. */
int cg_v2v_password_file_check(const char *path, char *why, size_t whylen);

#endif

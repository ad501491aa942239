/* PLACEHOLDER until the libguestfs implementation lands (branch h-guest):
 * inspection and sealing report that they are not available. */
#include "guest.h"

int cg_guest_inspect(const cg_disk_paths *disks, cg_os_info *out, cg_error *err)
{
    (void)disks;
    (void)out;
    cg_error_set(err, CG_ERR_UNSUPPORTED, "inspection is not built in yet");
    return -1;
}

int cg_guest_seal(const cg_disk_paths *disks, const cg_os_info *os, int log_fd,
                  cg_guest_cancel_fn cancelled, void *arg, cg_error *err)
{
    (void)disks, (void)os, (void)log_fd, (void)cancelled, (void)arg;
    cg_error_set(err, CG_ERR_UNSUPPORTED, "sealing is not built in yet");
    return -1;
}

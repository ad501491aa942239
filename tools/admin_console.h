/* cloudgate-admin console: the terminal on an instance's serial console. */
#ifndef CG_ADMIN_CONSOLE_H
#define CG_ADMIN_CONSOLE_H

#include "drivers/driver.h"

/* `console INSTANCE-ID` (argv[0] is "console"): attach stdin/stdout to the
 * instance's serial console (virDomainOpenConsole) until Ctrl-], end of
 * input or the console closes.  Returns an exit status. */
int cg_admin_console(cg_drv *drv, int argc, char **argv);

#endif

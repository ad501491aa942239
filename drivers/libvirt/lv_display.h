/* cloudgate libvirt driver: headless or graphical machines (lv_display.c).
 *
 * A machine's display is one of three domain shapes, all with the serial
 * console and <bios useserial='yes'/>:
 *   headless: no <graphics>, <video><model type='none'/></video>;
 *   vnc:      VNC graphics (autoport), a vga video device, a USB tablet;
 *   spice:    SPICE graphics (autoport), qxl video, a USB tablet and the
 *             spicevmc agent channel (com.redhat.spice.0).
 * The stored choice lives in <cloudgate:display> of the instance metadata and
 * in the persistent definition; the running domain's live XML says what runs.
 */
#ifndef LV_DISPLAY_H
#define LV_DISPLAY_H

#include <stddef.h>

#include <libxml/tree.h>

#include "../driver.h"

/* Where graphical displays listen and with which password (NULL: none). */
typedef struct lv_display_opts {
    const char *listen;
    const char *password;
} lv_display_opts;

/* The stored display of a new instance: the launch's explicit choice, else
 * the image's, else fallback (the gateway's default_display), else headless.
 * Never DEFAULT. */
cg_display lv_display_choose(cg_display image, cg_display launch, cg_display fallback);

/* What one start runs: once when given (run-once), else the stored choice. */
cg_display lv_display_for_start(cg_display stored, cg_display once);

/* Give the <domain> element root the devices of display (DEFAULT counts as
 * headless), removing those of the other shapes; everything else (disks,
 * NICs, serial console, metadata) is kept.  0, or -1 when out of memory. */
int lv_display_apply(xmlNodePtr root, cg_display display, const lv_display_opts *o);

/* The same on a serialised domain XML (virDomainGetXMLDesc).  malloc'd or
 * NULL (reported). */
char *lv_domxml_display(const char *xml, cg_display display, const lv_display_opts *o,
                        cg_error *err);

/* What a domain's XML shows: the display its devices make (HEADLESS when
 * none) and, for a graphical one, the listen address and port (0 when not
 * assigned, as in an inactive definition). */
void lv_display_read(xmlNodePtr root, cg_display *display, char *addr, size_t addr_len,
                     int *port);

#endif

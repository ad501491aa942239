/* Shared fixtures of the libvirt driver's unit tests (test_lv_driver.c,
 * test_lv_attrs.c), against libvirt's test driver.
 *
 * Most tests use tests/integration/testnode.xml opened as test:///PATH: every
 * connection to such a URI gets a private in-memory world, so each test opens
 * the driver afresh and looks at libvirt through the driver's own connection
 * (lv_driver_zone_conn).  The restart test with live domains uses
 * test:///default, whose state is shared within the process while any
 * connection to it stays open.
 *
 * Include after <cmocka.h>.
 */
#ifndef LV_WORLD_H
#define LV_WORLD_H

#include <ftw.h>
#include <stddef.h>
#include <sys/stat.h>

#include <libvirt/libvirt.h>

#include "drivers/driver.h"
#include "gateway/config.h"

#define ZONE "cloudgate-a"
/* How long a test waits for libvirt's events to reach the cache: they
 * come in milliseconds, but CI runs these under sanitizers, two at once. */
#define EVENT_WAIT_SECONDS 30

typedef struct world {
    cg_config cfg;
    char dir[64];
    cg_drv *drv;
    char ami[24];
    cg_instance_type small;
} world;

/* The key run() launches with; it goes into the seed. */
#define TEST_PUBLIC_KEY                                                                            \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHdG1jbfoVHr4mhTkd3W1AHVSZT3eUL5hLyL5G4EOvzR t@h"

/* nftw callback removing everything (a state directory after a test). */
int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);
void set_str(char **dst, const char *value);
/* Configure w for uri with a fresh state directory. */
void configure(world *w, const char *uri, const char *pool, const char *network);
/* test://ABSOLUTE/tests/integration/testnode.xml into buf. */
void node_uri(char *buf, size_t len);
cg_drv *open_drv(world *w);
/* Register volume as image name; its id into ami (24 bytes). */
void register_volume(world *w, const char *name, const char *volume, char *ami);
/* A driver on testnode.xml with image "demo" (w->ami); teardown closes it. */
int setup(void **state);
int teardown(void **state);

virConnectPtr zone_conn(world *w);
/* Number of cloudgate-named domains ("i-...") libvirt has. */
int count_domains(world *w);
/* Number of volumes named "i-..." (overlays and seeds) in the pool. */
int count_volumes(world *w);
/* Number of volumes whose name starts with prefix ("vol-": EC2 volumes). */
int count_volumes_named(world *w, const char *prefix);
/* 1 when the pool has volume name. */
int has_volume(world *w, const char *name);
/* The domain XML of instance id (malloc'd). */
char *domain_xml(world *w, const char *id);
/* Launch with key "mykey" (TEST_PUBLIC_KEY) and a small shell script as
 * user-data. */
int run(world *w, unsigned min, unsigned max, const char *token, const cg_tags *tags,
        cg_instance_list *out, cg_error *err);
/* Launch one instance (as run does); its id into id (24 bytes). */
void run_one(world *w, char *id);
/* A copy of instance id from instance_list; 0 when absent. */
int find(world *w, const char *id, cg_instance *out);
/* After instance_run returned rc: the instances answered pending; wait for
 * their launches and put their states now into out.  A launch that ended
 * terminated makes it -1 (err: its reason, out released), as the
 * synchronous launch was. */
int settle(world *w, int rc, cg_instance_list *out, cg_error *err);
cg_instance_state state_of(world *w, const char *id);
/* Wait up to 5 s for the event thread to bring id into state st. */
void wait_state(world *w, const char *id, cg_instance_state st);
/* The id of the first instance instance_list shows. */
const char *out_id(world *w);
/* One SQL statement (sqlite3_mprintf's format: %Q quotes) on a connection
 * of its own to w's state database, as the admin CLI would run it; the
 * first column of its first row, or 0 without one. */
long long state_sql(world *w, const char *fmt, ...);

#endif

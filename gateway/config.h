/* cloudgate: configuration (etc/cloudgate.conf).
 *
 * An INI file: [gateway], [libvirt], one [zone NAME] per libvirt host and one
 * [instance-type NAME] per instance type, one [glance NAME] per Glance provider.  Without a file, cg_config_defaults()
 * gives the embedded default used by the Quick start.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include <stddef.h>

#include "glance.h"
#include "providers.h"

typedef struct cg_zone_config {
    char *name;           /* availability zone name, e.g. "cloudgate-a" */
    char *uri;            /* libvirt URI, e.g. "qemu:///system" or "test:///default" */
} cg_zone_config;

typedef struct cg_instance_type {
    char *name;           /* "t2.micro" */
    unsigned vcpus;
    unsigned memory_mib;
} cg_instance_type;

typedef struct cg_config {
    /* [gateway] */
    char *listen_addr;          /* "127.0.0.1" */
    unsigned short listen_port; /* 8773 */
    /* The instance metadata service's listener (metadata_listen), NULL: off. */
    char *metadata_addr;        /* e.g. "169.254.169.254" (bound even before it exists) */
    unsigned short metadata_port;
    char *tls_cert;             /* NULL: plain HTTP */
    char *tls_key;
    char *credentials_file;     /* "/var/lib/cloudgate/credentials" */
    char *state_dir;            /* SQLite database and console logs live here */
    char *region;               /* "cloudgate" */
    char *account_id;           /* 12 digits, EC2 ownerId of everything */
    char *log_file;             /* NULL: stderr */
    unsigned workers;           /* worker threads */
    unsigned queue_max;         /* queued requests beyond which we answer 503 */
    size_t max_body;            /* bytes */
    size_t max_headers;         /* bytes */
    unsigned timeout_sec;       /* read/write timeout per connection */
    /* Hostile clients: a connection must deliver a whole request within
     * read_timeout_sec of opening (or of its previous reply); connections
     * beyond the caps close the oldest idle ones. */
    unsigned read_timeout_sec;
    unsigned max_connections;
    unsigned max_connections_per_peer;
    unsigned max_params;        /* EC2 parameters in one request */
    unsigned shutdown_grace_sec; /* SIGTERM: wait this long for requests in flight */
    size_t max_queued_body;     /* body bytes held by requests waiting for a worker */
    /* Long-running work (engine/jobs.h): threads, and the local directories
     * file:// imports may read (comma-separated absolute paths). */
    unsigned job_threads;
    char *import_dirs;
    unsigned v2v_parallel;      /* virt-v2v conversions at once (others wait); 1 */
    /* The conversion slots' lock files, shared by every gateway and
     * cloudgate-admin on the host; NULL: STATE_DIR/v2v-slots. */
    char *v2v_slot_dir;

    /* [libvirt] */
    char *domain_type;          /* "kvm", "qemu" or "test" */
    char *storage_pool;         /* pool for template and instance volumes */
    char *network;              /* libvirt network for instance NICs */
    char *console_dir;          /* serial console logs; default STATE_DIR/console */
    unsigned stop_timeout_sec;  /* graceful stop before a forced power-off */
    unsigned change_wait_sec;   /* Start/Stop/TerminateInstances answer by then (0: at once) */
    unsigned terminated_retention_sec; /* terminated instances stay visible */
    char *default_display;      /* "headless", "vnc" or "spice": images registered without one */
    char *display_listen;       /* address VNC/SPICE servers listen on ("127.0.0.1") */
    char *vpc_forward;          /* new VPC networks: "isolated" (default) or "nat" */
    char *display_password;     /* VNC/SPICE password; NULL: none */
    /* Placement: a zone takes instances up to its host's memory and CPUs
     * times these (drivers/libvirt/lv_capacity.h). */
    double memory_overcommit;   /* 1.0 */
    double cpu_overcommit;      /* 16.0 */
    int placement_pack;         /* placement = pack: fill the most committed zone first */

    cg_zone_config *zones;
    size_t n_zones;
    cg_instance_type *types;
    size_t n_types;

    /* [glance NAME] image sources, [v2v NAME] VM sources (gateway/providers.h;
     * gateway/glance_store.h reads the Glance ones) */
    cg_provider_list providers;
} cg_config;

/* Fill cfg with the embedded defaults (one zone on qemu:///system, the
 * t2/m1 instance types).  Returns 0 or -1 (out of memory). */
int cg_config_defaults(cg_config *cfg);

/* Load path over the defaults.  On error writes "FILE:LINE: key 'x': why"
 * into errbuf and returns -1. */
int cg_config_load(cg_config *cfg, const char *path, char *errbuf, size_t errlen);

/* The instance type called name, or NULL. */
const cg_instance_type *cg_config_find_type(const cg_config *cfg, const char *name);

/* Free contents. Accepts NULL. */
void cg_config_release(cg_config *cfg);

#endif

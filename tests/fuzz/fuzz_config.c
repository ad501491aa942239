/* cloudgate fuzz target: the configuration file parser (cg_config_load in
 * gateway/config.c) over the defaults, reading the input from a memfd.
 *
 * Checks: a refusal names the problem; an accepted file leaves a config
 * the gateway can use: at least one zone, each with a URI, every instance
 * type sized and found by its name, TLS files both set or both unset. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "gateway/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_config cfg;
    char path[64], err[512] = "";
    const cg_instance_type *t;
    int fd, rc;
    size_t i;

    /* One memfd per input: a file that does not outlive the run. */
    if ((fd = memfd_create("fuzz_config", MFD_CLOEXEC)) < 0)
        return 0;
    memset(&cfg, 0, sizeof(cfg));
    if ((size && write(fd, data, size) != (ssize_t)size) || cg_config_defaults(&cfg) < 0)
        goto cleanup;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    rc = cg_config_load(&cfg, path, err, sizeof(err));
    if (rc < 0) {
        FZ_CHECK(err[0] != '\0');
        goto cleanup;
    }
    FZ_CHECK(rc == 0);
    FZ_CHECK(cfg.n_zones >= 1);
    for (i = 0; i < cfg.n_zones; i++)
        FZ_CHECK(cfg.zones[i].name && cfg.zones[i].uri && cfg.zones[i].uri[0]);
    for (i = 0; i < cfg.n_types; i++) {
        FZ_CHECK(cfg.types[i].vcpus && cfg.types[i].memory_mib);
        t = cg_config_find_type(&cfg, cfg.types[i].name);
        FZ_CHECK(t && strcmp(t->name, cfg.types[i].name) == 0);
    }
    FZ_CHECK(!cfg.tls_cert == !cfg.tls_key);
    FZ_CHECK(cfg.listen_addr && cfg.state_dir && cfg.console_dir && cfg.region);

cleanup:
    cg_config_release(&cfg);
    close(fd);
    return 0;
}

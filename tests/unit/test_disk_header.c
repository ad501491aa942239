/* cloudgate: the header check of imported images (engine/disk_header.c),
 * on headers made by qemu-img itself and on hand-made edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/disk_header.h"

static char dir[64];

/* The first bytes of a file qemu-img made with args (in dir). */
static size_t made_by_qemu_img(const char *args, unsigned char *buf, size_t len)
{
    char cmd[512], path[128];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/img", dir);
    unlink(path);
    snprintf(cmd, sizeof(cmd), "cd %s && qemu-img create -q %s >/dev/null", dir, args);
    assert_int_equal(system(cmd), 0);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(buf, 1, len, f);
    fclose(f);
    return n;
}

static int check(const unsigned char *b, size_t n, const char *decl, const char **fmt,
                 unsigned long long *vsize, cg_error *err)
{
    memset(err, 0, sizeof(*err));
    return cg_disk_header_check(b, n, n, decl, fmt, vsize, err);
}

static void test_qemu_img_headers(void **state)
{
    static unsigned char b[CG_DISK_HEADER_MAX];
    const char *fmt = NULL;
    unsigned long long vs = 0;
    cg_error err;
    size_t n;

    n = made_by_qemu_img("-f qcow2 img 3G", b, sizeof(b));
    assert_int_equal(check(b, n, NULL, &fmt, &vs, &err), 0);
    assert_string_equal(fmt, "qcow2");
    assert_true(vs == 3ULL << 30);
    assert_int_equal(check(b, n, "qcow2", &fmt, &vs, &err), 0);
    assert_int_equal(check(b, n, "raw", &fmt, &vs, &err), -1);
    assert_non_null(strstr(err.message, "qcow2, not raw"));

    n = made_by_qemu_img("-f qcow2 -o compat=0.10 img 1G", b, sizeof(b));
    assert_int_equal(check(b, n, "qcow2", &fmt, &vs, &err), 0);

    /* -u: the backing file need not exist for the header to name it. */
    n = made_by_qemu_img("-f qcow2 -b /tmp/outside/base.qcow2 -F qcow2 -u img 1G", b, sizeof(b));
    assert_int_equal(check(b, n, "qcow2", &fmt, &vs, &err), -1);
    assert_non_null(strstr(err.message, "backing file '/tmp/outside/base.qcow2'"));

    n = made_by_qemu_img("-f qcow2 -o data_file=data.raw img 1G", b, sizeof(b));
    assert_int_equal(check(b, n, "qcow2", &fmt, &vs, &err), -1);
    assert_non_null(strstr(err.message, "external file"));

    n = made_by_qemu_img("-f vmdk img 1G", b, sizeof(b));
    assert_int_equal(check(b, n, "raw", &fmt, &vs, &err), -1);
    assert_non_null(strstr(err.message, "vmdk"));
}

static void test_raw_and_edges(void **state)
{
    unsigned char b[512] = {0};
    const char *fmt = NULL;
    unsigned long long vs = 0;
    cg_error err;

    assert_int_equal(check(b, sizeof(b), NULL, &fmt, &vs, &err), 0);
    assert_string_equal(fmt, "raw");
    assert_true(vs == sizeof(b));
    assert_int_equal(check(b, sizeof(b), "qcow2", &fmt, &vs, &err), -1);
    assert_non_null(strstr(err.message, "not qcow2"));
    assert_int_equal(check(b, 0, NULL, &fmt, &vs, &err), -1);
    assert_non_null(strstr(err.message, "empty"));
    assert_int_equal(check(b, sizeof(b), "vhd", &fmt, &vs, &err), -1);
    memcpy(b, "QFI\xfb", 4);
    assert_int_equal(check(b, 40, NULL, &fmt, &vs, &err), -1); /* truncated */
    assert_non_null(strstr(err.message, "truncated"));
    b[7] = 9; /* version 9 */
    assert_int_equal(check(b, sizeof(b), NULL, &fmt, &vs, &err), -1);
    assert_non_null(strstr(err.message, "version 9"));
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/cg-dh-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_img_headers),
        cmocka_unit_test(test_raw_and_edges),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

/* cloudgate: the disk writer (engine/disk_writer.c) against a driver table
 * whose disk sink records what it gets: every byte arrives once, in order,
 * in chunks of the writer's size (the last one shorter); a failed send
 * fails the next write or the flush with the sink's error; free while a
 * send is under way waits for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/disk_writer.h"

/* The sink: bytes received, chunk sizes, when to fail, how slow to be. */
struct cg_disk_sink {
    unsigned char *got;
    size_t n, cap;
    size_t sizes[64];
    size_t nsizes;
    int fail_at;   /* fail the fail_at-th send (1-based), 0: never */
    int sends;
    useconds_t delay;
};

static int sink_write(cg_drv *drv, cg_disk_sink *s, const void *buf, size_t len, cg_error *err)
{
    (void)drv;
    __atomic_add_fetch(&s->sends, 1, __ATOMIC_SEQ_CST);
    if (s->delay)
        usleep(s->delay);
    if (s->fail_at && s->sends == s->fail_at) {
        cg_error_set(err, CG_ERR_INTERNAL, "libvirtd went away");
        return -1;
    }
    assert_true(s->n + len <= s->cap);
    memcpy(s->got + s->n, buf, len);
    s->n += len;
    if (s->nsizes < 64)
        s->sizes[s->nsizes++] = len;
    return 0;
}

static const cg_driver fake = {.name = "fake", .disk_sink_write = sink_write};
static const cg_core core = {.driver = &fake};

static void test_all_bytes_in_chunks(void **state)
{
    cg_disk_sink s = {.cap = 100000};
    unsigned char *src = malloc(s.cap);
    cg_error err = {0};
    cg_disk_writer *w;
    size_t i, off = 0;

    s.got = malloc(s.cap);
    for (i = 0; i < s.cap; i++)
        src[i] = (unsigned char)(i * 7 + 3);
    w = cg_disk_writer_new(&core, &s, 4096, &err);
    assert_non_null(w);
    /* Odd pieces, as libcurl hands them over. */
    while (off < 99999) {
        size_t len = off % 3 ? 1000 : 777;
        if (len > 99999 - off)
            len = 99999 - off;
        assert_int_equal(cg_disk_writer_write(w, src + off, len, &err), 0);
        off += len;
    }
    assert_int_equal(cg_disk_writer_flush(w, &err), 0);
    assert_int_equal(s.n, 99999);
    assert_memory_equal(s.got, src, 99999);
    for (i = 0; i + 1 < s.nsizes; i++)
        assert_int_equal(s.sizes[i], 4096);
    assert_int_equal(s.sizes[s.nsizes - 1], 99999 % 4096);
    /* More after a flush, then an empty flush. */
    assert_int_equal(cg_disk_writer_write(w, src + off, 1, &err), 0);
    assert_int_equal(cg_disk_writer_flush(w, &err), 0);
    assert_int_equal(cg_disk_writer_flush(w, &err), 0);
    assert_int_equal(s.n, 100000);
    assert_memory_equal(s.got, src, 100000);
    cg_disk_writer_free(w);
    free(s.got);
    free(src);
}

static void test_failure_reaches_the_caller(void **state)
{
    cg_disk_sink s = {.cap = 1 << 20, .fail_at = 2};
    unsigned char buf[1000] = {0};
    cg_error err = {0};
    cg_disk_writer *w;
    int i, rc = 0;

    s.got = malloc(s.cap);
    w = cg_disk_writer_new(&core, &s, 1000, &err);
    assert_non_null(w);
    for (i = 0; i < 10 && rc == 0; i++)
        rc = cg_disk_writer_write(w, buf, sizeof(buf), &err);
    if (rc == 0)
        rc = cg_disk_writer_flush(w, &err);
    assert_int_equal(rc, -1);
    assert_string_equal(err.message, "libvirtd went away");
    /* Nothing is sent after the failure. */
    assert_int_equal(s.sends, 2);
    cg_disk_writer_free(w);
    free(s.got);
}

static void test_free_waits_for_a_send(void **state)
{
    cg_disk_sink s = {.cap = 1 << 20, .delay = 200 * 1000};
    unsigned char buf[100] = {1};
    cg_error err = {0};
    cg_disk_writer *w;

    s.got = malloc(s.cap);
    w = cg_disk_writer_new(&core, &s, 100, &err);
    assert_non_null(w);
    assert_int_equal(cg_disk_writer_write(w, buf, 100, &err), 0); /* handed over */
    assert_int_equal(cg_disk_writer_write(w, buf, 50, &err), 0);  /* stays gathered */
    for (int i = 0; i < 500 && !__atomic_load_n(&s.sends, __ATOMIC_SEQ_CST); i++)
        usleep(10 * 1000);
    assert_int_equal(__atomic_load_n(&s.sends, __ATOMIC_SEQ_CST), 1); /* under way (slow) */
    cg_disk_writer_free(w); /* joins: the send under way completes; the 50 are dropped */
    assert_int_equal(s.sends, 1);
    assert_int_equal(s.n, 100);
    free(s.got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_bytes_in_chunks),
        cmocka_unit_test(test_failure_reaches_the_caller),
        cmocka_unit_test(test_free_waits_for_a_send),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

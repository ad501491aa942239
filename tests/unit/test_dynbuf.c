/* Unit tests: gateway/dynbuf.c, the growable buffer EC2 responses are
 * written into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/dynbuf.h"

static void test_appends_and_takes(void **state)
{
    cg_dynbuf b;
    char chunk[1000], *p;
    size_t len = 1, i;

    (void)state;
    cg_dynbuf_init(&b, 1 << 20);
    for (i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    for (i = 0; i < 300; i++)
        assert_int_equal(cg_dynbuf_add(&b, chunk, sizeof(chunk)), 0);
    assert_int_equal(b.len, 300 * sizeof(chunk));
    /* Room doubles: a power of two from 4 KiB, never twice what is needed. */
    assert_true(b.cap >= b.len + 1 && b.cap < 2 * (b.len + 1));
    assert_int_equal(b.cap & (b.cap - 1), 0);
    p = cg_dynbuf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 300 * sizeof(chunk));
    assert_int_equal(p[len], '\0');
    assert_memory_equal(p + 299 * sizeof(chunk), chunk, sizeof(chunk));
    free(p);
    /* Taken: empty again, and reusable. */
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(cg_dynbuf_add(&b, "xy", 2), 0);
    assert_string_equal(b.p, "xy");
    cg_dynbuf_free(&b);
    assert_null(b.p);
}

static void test_bound(void **state)
{
    cg_dynbuf b;
    char *p;
    size_t len = 7;

    (void)state;
    cg_dynbuf_init(&b, 10);
    assert_int_equal(cg_dynbuf_add(&b, "0123456789", 10), 0);
    /* One byte past the bound: refused, the buffer unchanged. */
    assert_int_equal(cg_dynbuf_add(&b, "x", 1), -1);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.p, "0123456789");
    /* A length that would wrap size_t is refused too. */
    assert_int_equal(cg_dynbuf_add(&b, "x", (size_t)-1), -1);
    cg_dynbuf_free(&b);
    /* Nothing added: an empty string, not NULL. */
    cg_dynbuf_init(&b, 10);
    p = cg_dynbuf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends_and_takes),
        cmocka_unit_test(test_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

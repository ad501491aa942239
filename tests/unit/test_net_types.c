/* cloudgate: IPv4 blocks (drivers/net_types.c): strict parsing, containment
 * and overlap, as CreateVpc and CreateSubnet use them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "drivers/driver.h"

static cg_cidr block(const char *s)
{
    cg_cidr c = {0, 0};

    if (cg_cidr_parse(s, &c) < 0)
        fail_msg("'%s' did not parse", s);
    return c;
}

static void test_parse(void **state)
{
    static const char *const bad[] = {
        "", "10.0.0.0", "10.0.0/8", "10.0.0.0.0/8", "10.0.0.0/33", "256.0.0.0/8", "10.0.0.1/8",
        "010.0.0.0/8", "10.0.0.0/08", "10.0.0.0/-1", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0/",
        "a.b.c.d/8", "10.0.0.0/8/8", "1000.0.0.0/8", "10..0.0/8",
    };
    char buf[32];
    cg_cidr c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cg_cidr_parse(bad[i], &c) == 0)
            fail_msg("'%s' parsed", bad[i]);
    }
    assert_int_equal(cg_cidr_parse(NULL, &c), -1);
    c = block("10.20.0.0/16");
    assert_int_equal(c.addr, 0x0a140000u);
    assert_int_equal(c.prefix, 16);
    cg_cidr_format(&c, buf, sizeof(buf));
    assert_string_equal(buf, "10.20.0.0/16");
    c = block("0.0.0.0/0");
    assert_int_equal(c.prefix, 0);
    c = block("255.255.255.255/32");
    cg_cidr_format(&c, buf, sizeof(buf));
    assert_string_equal(buf, "255.255.255.255/32");
}

static void test_contains_overlap(void **state)
{
    cg_cidr vpc = block("10.20.0.0/16"), a = block("10.20.1.0/24"), b = block("10.20.1.128/25");
    cg_cidr c = block("10.21.0.0/24"), all = block("0.0.0.0/0");
    cg_cidr lo = block("10.20.0.0/25"), hi = block("10.20.0.128/25");

    (void)state;
    assert_true(cg_cidr_contains(&vpc, &a));
    assert_true(cg_cidr_contains(&vpc, &vpc));
    assert_false(cg_cidr_contains(&a, &vpc));
    assert_false(cg_cidr_contains(&vpc, &c));
    assert_true(cg_cidr_contains(&all, &c));
    assert_true(cg_cidr_overlap(&a, &b));
    assert_true(cg_cidr_overlap(&b, &a));
    assert_false(cg_cidr_overlap(&a, &c));
    assert_false(cg_cidr_overlap(&lo, &hi));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_contains_overlap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cloudgate fuzz target: IPv4 blocks as VPCs, subnets and security group
 * rules name them (cg_cidr_parse in drivers/net_types.c).  Input: two lines,
 * each a candidate "a.b.c.d/n".  Checks: an accepted block formats back to
 * exactly its text (the parser is strict: no leading zeros, no host bits),
 * a block contains itself, containment implies overlap, overlap is
 * symmetric, and a refused text leaves the output untouched. */
#include "fuzz.h"
#include "drivers/driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[2], text[48];
    size_t len[2];
    cg_cidr c[2];
    int ok[2], i;

    if (fz_split(data, size, 2, f, len) < 0)
        return 0;
    for (i = 0; i < 2; i++) {
        c[i].addr = 0xdeadbeefu;
        c[i].prefix = 99;
        ok[i] = cg_cidr_parse(f[i], &c[i]) == 0;
        if (ok[i]) {
            FZ_CHECK(c[i].prefix <= 32);
            cg_cidr_format(&c[i], text, sizeof text);
            FZ_CHECK(strcmp(text, f[i]) == 0);
            FZ_CHECK(cg_cidr_contains(&c[i], &c[i]));
        } else {
            FZ_CHECK(c[i].addr == 0xdeadbeefu && c[i].prefix == 99);
        }
    }
    if (ok[0] && ok[1]) {
        FZ_CHECK(cg_cidr_overlap(&c[0], &c[1]) == cg_cidr_overlap(&c[1], &c[0]));
        if (cg_cidr_contains(&c[0], &c[1]))
            FZ_CHECK(cg_cidr_overlap(&c[0], &c[1]) && c[1].prefix >= c[0].prefix);
        if (cg_cidr_contains(&c[0], &c[1]) && cg_cidr_contains(&c[1], &c[0]))
            FZ_CHECK(c[0].addr == c[1].addr && c[0].prefix == c[1].prefix);
    }
    fz_free(f, 2);
    return 0;
}

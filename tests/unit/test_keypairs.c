/* cloudgate: the key-pair store (gateway/keypairs.c, gateway/sshkey.c).
 *
 * Every fingerprint is checked against a value computed independently by
 * the OpenSSH and OpenSSL command-line tools on files this test writes,
 * following AWS's "Verify the fingerprint of your key pair":
 *   created RSA:  openssl pkcs8 -topk8 -nocrypt -outform DER | openssl sha1 -c
 *   imported RSA: openssl rsa -pubout -outform DER | openssl md5 -c
 *   ED25519:      ssh-keygen -l -E sha256 (EC2 keeps the base64 '=' padding)
 * and every created private key must be accepted by ssh-keygen -y, which
 * must give back the stored public key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/keypairs.h"
#include "gateway/util.h"

static cg_config cfg;
static cg_keystore *ks;
static char dir[64];

static int setup(void **state)
{
    cg_error err = {0};

    snprintf(dir, sizeof(dir), "/tmp/cg-keys-XXXXXX");
    assert_non_null(mkdtemp(dir));
    memset(&cfg, 0, sizeof(cfg));
    cfg.state_dir = dir;
    ks = cg_keystore_open(&cfg, &err);
    if (!ks)
        fail_msg("cg_keystore_open: %s", err.message);
    return 0;
}

/* Run a shell command (our own fixed strings and temp paths); returns its
 * stdout without the final newline; fails the test on a non-zero exit. */
static char *run(const char *fmt, ...)
{
    char cmd[2048], *out = NULL;
    size_t len = 0, cap = 0, n;
    char buf[4096];
    va_list ap;
    FILE *p;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    assert_non_null(p);
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        memcpy(out + len, buf, n);
        len += n;
    }
    rc = pclose(p);
    if (rc != 0)
        fail_msg("'%s' exited with %d", cmd, rc);
    if (!out)
        out = calloc(1, 1);
    out[len] = '\0';
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return out;
}

static int teardown(void **state)
{
    cg_keystore_close(ks);
    ks = NULL;
    free(run("rm -rf '%s'", dir));
    return 0;
}

/* dir/name; a few calls may share one expression. */
static char *path_of(const char *name)
{
    static char p[4][128];
    static unsigned next;
    char *out = p[next++ % 4];

    snprintf(out, sizeof(p[0]), "%s/%s", dir, name);
    return out;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    fclose(f);
    /* ssh-keygen refuses private keys others may read. */
    chmod(path_of(name), 0600);
}

static char *read_file(const char *name)
{
    return run("cat '%s'", path_of(name));
}

/* "openssl sha1 -c" prints "SHA1(stdin)= aa:bb:..."; keep the digest. */
static char *digest_of(char *line)
{
    char *eq = strstr(line, "= ");

    assert_non_null(eq);
    memmove(line, eq + 2, strlen(eq + 2) + 1);
    return line;
}

/* "ssh-keygen -l -E sha256" prints "256 SHA256:xxxx comment (ED25519)". */
static char *sha256_of(char *line)
{
    char *p = strstr(line, "SHA256:");

    assert_non_null(p);
    p += 7;
    p[strcspn(p, " ")] = '\0';
    memmove(line, p, strlen(p) + 1);
    return line;
}

/* The first two fields ("TYPE BASE64") of an authorized_keys line. */
static void assert_same_key(const char *a, const char *b)
{
    size_t la = strcspn(a, " "), lb = strcspn(b, " ");

    la += 1 + strcspn(a + la + 1, " ");
    lb += 1 + strcspn(b + lb + 1, " ");
    if (la != lb || strncmp(a, b, la) != 0)
        fail_msg("public keys differ:\n  %s\n  %s", a, b);
}

static void create(const char *name, const char *type, cg_keypair *kp, char **pem)
{
    cg_error err = {0};

    if (cg_keypair_create(ks, name, type, kp, pem, &err) < 0)
        fail_msg("create %s: %s", name, err.message);
}

static void import(const char *name, const char *material, cg_keypair *kp)
{
    cg_error err = {0};

    if (cg_keypair_import(ks, name, material, strlen(material), kp, &err) < 0)
        fail_msg("import %s: %s", name, err.message);
}

/* ---- created keys ------------------------------------------------------- */

static void test_create_rsa(void **state)
{
    cg_keypair kp, got;
    cg_error err = {0};
    char *pem = NULL, *want, *pub;

    create("rsa key", "rsa", &kp, &pem);
    assert_string_equal(kp.type, "rsa");
    assert_string_equal(kp.name, "rsa key");
    assert_int_equal(strlen(kp.key_id), 21);
    assert_int_equal(strncmp(kp.key_id, "key-", 4), 0);
    /* PKCS#1, as EC2 returns RSA keys. */
    assert_int_equal(strncmp(pem, "-----BEGIN RSA PRIVATE KEY-----\n", 32), 0);
    write_file("rsa.pem", pem);
    free(run("openssl rsa -in '%s' -check -noout 2>&1", path_of("rsa.pem")));
    want = run("openssl rsa -in '%s' -text -noout | head -1", path_of("rsa.pem"));
    assert_non_null(strstr(want, "2048 bit"));
    free(want);

    want = digest_of(run("openssl pkcs8 -topk8 -nocrypt -in '%s' -outform DER | openssl sha1 -c",
                         path_of("rsa.pem")));
    assert_string_equal(kp.fingerprint, want);
    assert_int_equal(strlen(kp.fingerprint), 59); /* 20 bytes as aa:bb:... */
    free(want);

    pub = run("ssh-keygen -y -f '%s'", path_of("rsa.pem"));
    assert_same_key(pub, kp.public_key);
    assert_string_equal(kp.public_key + strlen(kp.public_key) - 8, " rsa key");
    free(pub);

    /* What the store gives back later is what create answered. */
    assert_int_equal(cg_keypair_get(ks, "rsa key", &got, &err), 0);
    assert_string_equal(got.key_id, kp.key_id);
    assert_string_equal(got.fingerprint, kp.fingerprint);
    assert_string_equal(got.public_key, kp.public_key);
    assert_string_equal(got.type, "rsa");
    assert_int_equal(got.created, kp.created);
    cg_keypair_release(&got);
    cg_keypair_release(&kp);
    free(pem);
}

static void test_create_ed25519(void **state)
{
    cg_keypair kp;
    char *pem = NULL, *want, *pub;

    create("ed", "ed25519", &kp, &pem);
    assert_string_equal(kp.type, "ed25519");
    assert_int_equal(strncmp(pem, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36), 0);
    assert_non_null(strstr(pem, "\n-----END OPENSSH PRIVATE KEY-----\n"));
    write_file("ed.pem", pem);

    /* ssh-keygen reads the private key back: the format is right. */
    pub = run("ssh-keygen -y -f '%s'", path_of("ed.pem"));
    assert_same_key(pub, kp.public_key);
    assert_int_equal(strncmp(kp.public_key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", 32), 0);
    free(pub);

    /* Same fingerprint from the private file and from the stored public key,
     * each as ssh-keygen shows it plus EC2's '=' padding. */
    want = sha256_of(run("ssh-keygen -l -E sha256 -f '%s'", path_of("ed.pem")));
    assert_int_equal(strlen(want), 43);
    assert_int_equal(strlen(kp.fingerprint), 44);
    assert_int_equal(strncmp(kp.fingerprint, want, 43), 0);
    assert_int_equal(kp.fingerprint[43], '=');
    free(want);
    write_file("ed.pub", kp.public_key);
    want = sha256_of(run("ssh-keygen -l -E sha256 -f '%s'", path_of("ed.pub")));
    assert_int_equal(strncmp(kp.fingerprint, want, 43), 0);
    free(want);
    /* The comment is the key's name. */
    want = run("ssh-keygen -l -f '%s'", path_of("ed.pem"));
    assert_non_null(strstr(want, " ed (ED25519)"));
    free(want);
    /* -y only reads the public half back; a signature made with the private
     * half that verifies against the stored public key proves they belong
     * together. */
    write_file("data", "signed by cloudgate\n");
    free(run("ssh-keygen -Y sign -f '%s' -n test < '%s' > '%s' 2>/dev/null", path_of("ed.pem"),
             path_of("data"), path_of("sig")));
    free(run("ssh-keygen -Y check-novalidate -n test -f '%s' -s '%s' < '%s' >/dev/null",
             path_of("ed.pub"), path_of("sig"), path_of("data")));
    cg_keypair_release(&kp);
    free(pem);
}

static void test_create_default_and_bad_type(void **state)
{
    cg_keypair kp;
    cg_error err = {0};
    char *pem = NULL;

    create("default", NULL, &kp, &pem);
    assert_string_equal(kp.type, "rsa");
    cg_keypair_release(&kp);
    free(pem);
    pem = NULL;
    assert_int_equal(cg_keypair_create(ks, "dsa", "dsa", &kp, &pem, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    assert_null(pem);
    cg_error_clear(&err);
    assert_int_equal(cg_keypair_get(ks, "dsa", &kp, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
}

/* ---- imported keys ------------------------------------------------------ */

static void test_import_rsa(void **state)
{
    cg_keypair kp;
    char *pub, *want, *line;

    /* -m PEM: a private key file openssl can read too. */
    free(run("ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -C 'me@host' -f '%s'", path_of("imp")));
    pub = read_file("imp.pub");
    line = cg_asprintf("  %s\n", pub); /* surrounding whitespace is fine */
    import("imported", line, &kp);
    assert_string_equal(kp.type, "rsa");
    want = digest_of(run("openssl rsa -in '%s' -pubout -outform DER 2>/dev/null | openssl md5 -c",
                         path_of("imp")));
    assert_string_equal(kp.fingerprint, want);
    assert_int_equal(strlen(kp.fingerprint), 47); /* 16 bytes */
    free(want);
    /* The same key through ssh-keygen's own export (the public file only). */
    want = digest_of(run("ssh-keygen -e -m PKCS8 -f '%s' | openssl pkey -pubin -outform DER "
                         "| openssl md5 -c",
                         path_of("imp.pub")));
    assert_string_equal(kp.fingerprint, want);
    free(want);
    /* Stored with the key's name as comment instead of the user's. */
    assert_same_key(kp.public_key, pub);
    assert_null(strstr(kp.public_key, "me@host"));
    assert_string_equal(kp.public_key + strlen(kp.public_key) - 9, " imported");
    free(line);
    free(pub);
    cg_keypair_release(&kp);
}

static void test_import_ed25519(void **state)
{
    cg_keypair kp;
    char *pub, *want;

    free(run("ssh-keygen -q -t ed25519 -N '' -C '' -f '%s'", path_of("imp-ed")));
    pub = read_file("imp-ed.pub");
    import("imported-ed", pub, &kp);
    assert_string_equal(kp.type, "ed25519");
    want = sha256_of(run("ssh-keygen -l -E sha256 -f '%s'", path_of("imp-ed.pub")));
    assert_int_equal(strncmp(kp.fingerprint, want, 43), 0);
    assert_string_equal(kp.fingerprint + 43, "=");
    assert_same_key(kp.public_key, pub);
    free(want);
    free(pub);
    cg_keypair_release(&kp);
}

/* SSH wire pieces for hand-made blobs. */
static size_t put_string(unsigned char *b, size_t at, const void *data, size_t n)
{
    b[at] = (unsigned char)(n >> 24);
    b[at + 1] = (unsigned char)(n >> 16);
    b[at + 2] = (unsigned char)(n >> 8);
    b[at + 3] = (unsigned char)n;
    memcpy(b + at + 4, data, n);
    return at + 4 + n;
}

static char *line_of(const char *type, const unsigned char *blob, size_t n)
{
    char *b64 = cg_base64_encode(blob, n);
    char *line = cg_asprintf("%s %s x", type, b64);

    free(b64);
    return line;
}

static void expect_invalid(const char *material, size_t len, const char *why)
{
    cg_keypair kp;
    cg_error err = {0};

    if (cg_keypair_import(ks, "bad", material, len, &kp, &err) != -1 || err.kind != CG_ERR_INVALID)
        fail_msg("%s: accepted (kind %d): %.80s", why, err.kind, material);
}

static void test_import_malformed(void **state)
{
    unsigned char blob[1200], pk[32], e3[1] = {3}, e4[1] = {4}, n512[64], n2048[257];
    char *pub, *line, *two, *trunc;
    cg_keypair_list list;
    cg_keypair kp;
    cg_error err = {0};
    size_t n;

    memset(pk, 7, sizeof(pk));
    memset(n512, 0xab, sizeof(n512));
    n512[0] = 0x7f; /* positive, 511 bits */
    memset(n2048, 0xc3, sizeof(n2048));
    n2048[0] = 0; /* 2048 bits, odd; without this zero it reads as negative */

    expect_invalid("", 0, "empty");
    expect_invalid("ssh-rsa", 7, "no blob");
    expect_invalid("ssh-rsa !!!!", 12, "not base64");
    expect_invalid("ssh-rsa AAAAB3NzaC1yc2E", 23, "unpadded");
    expect_invalid("ssh-dss AAAAB3NzaC1kc3M=", 24, "dsa");
    expect_invalid("-----BEGIN RSA PRIVATE KEY-----\n", 32, "a private key");

    /* ED25519: wrong length, type mismatch, trailing bytes, truncation. */
    n = put_string(blob, 0, "ssh-ed25519", 11);
    n = put_string(blob, n, pk, 31);
    line = line_of("ssh-ed25519", blob, n);
    expect_invalid(line, strlen(line), "31-byte ed25519");
    free(line);
    n = put_string(blob, 0, "ssh-ed25519", 11);
    n = put_string(blob, n, pk, 32);
    line = line_of("ssh-rsa", blob, n);
    expect_invalid(line, strlen(line), "type mismatch");
    free(line);
    line = line_of("ssh-ed25519", blob, n);
    import("good-ed", line, &kp); /* the control: this one is fine */
    cg_keypair_release(&kp);
    trunc = line_of("ssh-ed25519", blob, n - 1);
    expect_invalid(trunc, strlen(trunc), "truncated");
    free(trunc);
    blob[n] = 0;
    trunc = line_of("ssh-ed25519", blob, n + 1);
    expect_invalid(trunc, strlen(trunc), "trailing byte");
    free(trunc);
    two = cg_asprintf("%s\n%s\n", line, line);
    expect_invalid(two, strlen(two), "two lines");
    free(two);
    expect_invalid(line, strlen(line) + 1, "embedded NUL");
    free(line);

    /* RSA: too small, even exponent, negative modulus, and the control. */
    n = put_string(blob, 0, "ssh-rsa", 7);
    n = put_string(blob, n, e3, 1);
    n = put_string(blob, n, n512, sizeof(n512));
    line = line_of("ssh-rsa", blob, n);
    expect_invalid(line, strlen(line), "512-bit RSA");
    free(line);
    n = put_string(blob, 0, "ssh-rsa", 7);
    n = put_string(blob, n, e4, 1);
    n = put_string(blob, n, n2048, sizeof(n2048));
    line = line_of("ssh-rsa", blob, n);
    expect_invalid(line, strlen(line), "even exponent");
    free(line);
    n = put_string(blob, 0, "ssh-rsa", 7);
    n = put_string(blob, n, e3, 1);
    n = put_string(blob, n, n2048 + 1, sizeof(n2048) - 1);
    line = line_of("ssh-rsa", blob, n);
    expect_invalid(line, strlen(line), "negative modulus");
    free(line);
    n = put_string(blob, 0, "ssh-rsa", 7);
    n = put_string(blob, n, e3, 1);
    n = put_string(blob, n, n2048, sizeof(n2048));
    line = line_of("ssh-rsa", blob, n);
    import("good-rsa", line, &kp);
    cg_keypair_release(&kp);
    free(line);

    /* A real key with its blob cut short. */
    free(run("ssh-keygen -q -t rsa -b 2048 -N '' -f '%s'", path_of("cut")));
    pub = read_file("cut.pub");
    pub[strcspn(pub, " ") + 200] = '\0';
    expect_invalid(pub, strlen(pub), "cut RSA key");
    free(pub);

    /* Only the controls were stored. */
    assert_int_equal(cg_keypair_list_all(ks, &list, &err), 0);
    assert_int_equal(list.n, 2);
    assert_string_equal(list.v[0].name, "good-ed");
    assert_string_equal(list.v[1].name, "good-rsa");
    cg_keypair_list_release(&list);
}

/* ---- names, duplicates, delete, tags ------------------------------------ */

static void test_duplicates(void **state)
{
    cg_keypair kp, kp2;
    cg_error err = {0};
    char *pem = NULL, *pub;

    create("dup", "ed25519", &kp, &pem);
    free(pem);
    pem = NULL;
    assert_int_equal(cg_keypair_create(ks, "dup", "rsa", &kp2, &pem, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    assert_string_equal(err.message, "The keypair 'dup' already exists.");
    assert_null(pem);
    cg_error_clear(&err);
    pub = cg_asprintf("%s", kp.public_key);
    assert_int_equal(cg_keypair_import(ks, "dup", pub, strlen(pub), &kp2, &err), -1);
    assert_int_equal(err.kind, CG_ERR_CONFLICT);
    /* Names are case-sensitive. */
    import("DUP", pub, &kp2);
    assert_string_not_equal(kp.key_id, kp2.key_id);
    free(pub);
    cg_keypair_release(&kp);
    cg_keypair_release(&kp2);
}

static void test_names(void **state)
{
    char name[300];
    cg_keypair kp;
    cg_error err = {0};
    char *pem = NULL;
    const char *bad[] = {"", "new\nline", "tab\there", "caf\xc3\xa9"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cg_error_clear(&err);
        assert_int_equal(cg_keypair_create(ks, bad[i], "ed25519", &kp, &pem, &err), -1);
        assert_int_equal(err.kind, CG_ERR_INVALID);
    }
    memset(name, 'n', 256);
    name[256] = '\0';
    cg_error_clear(&err);
    assert_int_equal(cg_keypair_create(ks, name, "ed25519", &kp, &pem, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    name[255] = '\0';
    create(name, "ed25519", &kp, &pem);
    assert_string_equal(kp.name, name);
    cg_keypair_release(&kp);
    free(pem);
}

static void test_delete(void **state)
{
    cg_keypair kp;
    cg_keypair_list list;
    cg_error err = {0};
    char *pem = NULL;
    cg_tags tags = {0};

    assert_int_equal(cg_keypair_delete(ks, "never-existed", &err), 0);
    create("gone", "ed25519", &kp, &pem);
    cg_keypair_release(&kp);
    free(pem);
    cg_tags_set(&tags, "a", "1");
    assert_int_equal(cg_keypair_tag(ks, "gone", &tags, &err), 0);
    assert_int_equal(cg_keypair_delete(ks, "gone", &err), 0);
    assert_int_equal(cg_keypair_get(ks, "gone", &kp, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    assert_string_equal(err.message, "The key pair 'gone' does not exist");
    assert_int_equal(cg_keypair_delete(ks, "gone", &err), 0);
    /* The name is free again, and the old tags went with the old key. */
    create("gone", "ed25519", &kp, &pem);
    free(pem);
    cg_keypair_release(&kp);
    cg_error_clear(&err);
    assert_int_equal(cg_keypair_list_all(ks, &list, &err), 0);
    assert_int_equal(list.n, 1);
    assert_int_equal(list.v[0].tags.n, 0);
    cg_keypair_list_release(&list);
    cg_tags_release(&tags);
}

static void test_list_tags_persist(void **state)
{
    cg_keypair kp;
    cg_keypair_list list;
    cg_error err = {0};
    cg_tags tags = {0};
    char *pem = NULL;

    create("b", "ed25519", &kp, &pem);
    cg_keypair_release(&kp);
    free(pem);
    create("a", "rsa", &kp, &pem);
    cg_keypair_release(&kp);
    free(pem);
    cg_tags_set(&tags, "Name", "first <key>");
    cg_tags_set(&tags, "env", "");
    assert_int_equal(cg_keypair_tag(ks, "a", &tags, &err), 0);
    cg_tags_release(&tags);
    cg_tags_set(&tags, "env", "prod");
    assert_int_equal(cg_keypair_tag(ks, "a", &tags, &err), 0);
    assert_int_equal(cg_keypair_tag(ks, "zz", &tags, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_tags_release(&tags);

    /* Survives a restart of the store. */
    cg_keystore_close(ks);
    cg_error_clear(&err);
    ks = cg_keystore_open(&cfg, &err);
    assert_non_null(ks);
    assert_int_equal(cg_keypair_list_all(ks, &list, &err), 0);
    assert_int_equal(list.n, 2);
    assert_string_equal(list.v[0].name, "a");
    assert_string_equal(list.v[1].name, "b");
    assert_int_equal(list.v[0].tags.n, 2);
    assert_string_equal(cg_tags_get(&list.v[0].tags, "Name"), "first <key>");
    assert_string_equal(cg_tags_get(&list.v[0].tags, "env"), "prod");
    assert_int_equal(list.v[1].tags.n, 0);
    assert_true(list.v[0].created > 0);
    cg_keypair_list_release(&list);
}

/* CreateTags / DeleteTags by key id: all or none, by value or any value. */
static void test_tags_by_key_id(void **state)
{
    cg_keypair kp, got;
    cg_error err = {0};
    cg_tags tags = {0};
    char *pem = NULL;

    create("t", "ed25519", &kp, &pem);
    free(pem);
    cg_tags_set(&tags, "team", "ops");
    cg_tags_set(&tags, "Name", "");
    assert_int_equal(cg_keypair_tags_edit(ks, kp.key_id, &tags, 0, &err), 0);
    cg_tags_release(&tags);
    cg_tags_set(&tags, "team", "dev");
    assert_int_equal(cg_keypair_tags_edit(ks, kp.key_id, &tags, 1, &err), 0);
    assert_int_equal(cg_keypair_get(ks, "t", &got, &err), 0);
    assert_string_equal(cg_tags_get(&got.tags, "team"), "ops");
    cg_keypair_release(&got);
    free(tags.v[0].value);
    tags.v[0].value = NULL;
    assert_int_equal(cg_keypair_tags_edit(ks, kp.key_id, &tags, 1, &err), 0);
    assert_int_equal(cg_keypair_get(ks, "t", &got, &err), 0);
    assert_null(cg_tags_get(&got.tags, "team"));
    assert_int_equal(got.tags.n, 1);
    cg_keypair_release(&got);
    /* By id, not name; an unknown id changes nothing. */
    assert_int_equal(cg_keypair_tags_edit(ks, "t", &tags, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_error_clear(&err);
    assert_int_equal(cg_keypair_tags_edit(ks, "key-0123456789abcdef0", &tags, 0, &err), -1);
    assert_int_equal(err.kind, CG_ERR_NOT_FOUND);
    cg_keypair_release(&kp);
    cg_tags_release(&tags);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_rsa),        T(test_create_ed25519), T(test_create_default_and_bad_type),
        T(test_import_rsa),        T(test_import_ed25519), T(test_import_malformed),
        T(test_duplicates),        T(test_names),          T(test_delete),
        T(test_list_tags_persist), T(test_tags_by_key_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

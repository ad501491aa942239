/* Unit tests: cloud-init seed images (drivers/libvirt/lv_seed.c).
 *
 * Every image is built with the real xorriso and read back with it
 * (osirrox extraction, once through the Rock Ridge tree and once through the
 * Joliet tree), and every file is compared byte for byte with what went in.
 * The volume descriptors are also read straight from the image: the label,
 * a Joliet supplementary descriptor, the Rock Ridge signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "drivers/libvirt/lv_seed.h"

extern char **environ;

#define ID "i-0123456789abcdef0"
#define KEY                                                                                        \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHdG1jbfoVHr4mhTkd3W1AHVSZT3eUL5hLyL5G4EOvzR ops@host"

/* ---- fixtures: user-data as users send it --------------------------------- */

static const char cloud_config[] = "#cloud-config\nruncmd:\n  - echo hello > /run/hello\n";

/* gzip of a cloud-config (mtime 0): cloud-init unzips it itself. */
static const unsigned char gzipped[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x53, 0x4e, 0xce, 0xc9, 0x2f,
    0x4d, 0xd1, 0x4d, 0xce, 0xcf, 0x4b, 0xcb, 0x4c, 0xe7, 0x2a, 0x2a, 0xcd, 0x4b, 0xce, 0x4d,
    0xb1, 0xe2, 0x52, 0x50, 0xd0, 0x55, 0x88, 0x2e, 0xce, 0xd0, 0x51, 0xd0, 0x4d, 0xd6, 0x51,
    0x50, 0x4a, 0x4d, 0xce, 0xc8, 0x57, 0x48, 0xaf, 0x52, 0xb0, 0x53, 0xd0, 0x07, 0x2a, 0xd0,
    0x4f, 0xaf, 0x52, 0x8a, 0xe5, 0x02, 0x00, 0x96, 0x73, 0xca, 0x23, 0x38, 0x00, 0x00, 0x00,
};

/* MIME multipart with CRLF line ends, as cloud-init's make-mime writes. */
static const char multipart[] =
    "Content-Type: multipart/mixed; boundary=\"===============1234==\"\r\n"
    "MIME-Version: 1.0\r\n\r\n"
    "--===============1234==\r\n"
    "Content-Type: text/cloud-config; charset=\"us-ascii\"\r\n\r\n"
    "#cloud-config\r\nhostname: web\r\n\r\n"
    "--===============1234==\r\n"
    "Content-Type: text/x-shellscript; charset=\"us-ascii\"\r\n\r\n"
    "#!/bin/sh\r\necho \"multi\" > /run/multi\r\n"
    "--===============1234==--\r\n";

typedef struct sample {
    const char *name;
    const unsigned char *data; /* NULL: no user-data */
    size_t len;
} sample;

static unsigned char all_bytes[512];

static size_t samples(sample *s)
{
    size_t i, n = 0;

    /* Every byte value, twice, NULs and a leading 0xff included. */
    for (i = 0; i < sizeof(all_bytes); i++)
        all_bytes[i] = (unsigned char)(255 - i % 256);
    s[n++] = (sample){"none", NULL, 0};
    s[n++] = (sample){"empty", (const unsigned char *)"", 0};
    s[n++] =
        (sample){"cloud-config", (const unsigned char *)cloud_config, sizeof(cloud_config) - 1};
    s[n++] = (sample){"binary", all_bytes, sizeof(all_bytes)};
    s[n++] = (sample){"gzip", gzipped, sizeof(gzipped)};
    s[n++] = (sample){"multipart", (const unsigned char *)multipart, sizeof(multipart) - 1};
    return n;
}

/* ---- helpers ---------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void make_tmp(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/cg-seedtest-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

/* Run argv with stdout and stderr into out (may be NULL: discarded); exit status. */
static int run(char *const argv[], const char *out)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = -1;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out ? out : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A whole file, malloc'd (NUL added, not counted in *len); NULL if absent. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long size;

    if (!f)
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void assert_file(const char *dir, const char *name, const void *want, size_t want_len)
{
    char path[PATH_MAX];
    unsigned char *got;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    got = slurp(path, &len);
    if (!got)
        fail_msg("%s missing from the image", name);
    if (len != want_len || memcmp(got, want, len) != 0)
        fail_msg("%s: %zu bytes read back, %zu written, or the bytes differ", name, len, want_len);
    free(got);
}

/* The regular files under dir, as "a/b" paths sorted and joined by spaces. */
static char found[16][256];
static size_t n_found;
static const char *found_root;
static char listing[1024];

static int list_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    if (flag == FTW_F && n_found < 16)
        snprintf(found[n_found++], sizeof(found[0]), "%s", path + strlen(found_root) + 1);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static const char *files_under(const char *dir)
{
    size_t i;

    n_found = 0;
    found_root = dir;
    assert_int_equal(nftw(dir, list_entry, 8, FTW_PHYS), 0);
    qsort(found, n_found, sizeof(found[0]), by_name);
    listing[0] = '\0';
    for (i = 0; i < n_found; i++) {
        if (i)
            strcat(listing, " ");
        strcat(listing, found[i]);
    }
    return listing;
}

/* Extract the image through one of its trees: "nojoliet" (the Rock Ridge
 * tree) or "norock" (the Joliet tree).  Plain ISO 9660 cannot hold names
 * like "meta-data", so the names read back show which tree was read. */
static void extract(const char *iso, const char *tree, const char *dir)
{
    char *argv[] = {"xorriso", "-no_rc",    "-osirrox", "on", "-read_fs",  (char *)tree,
                    "-indev",  (char *)iso, "-extract", "/",  (char *)dir, NULL};

    assert_int_equal(run(argv, NULL), 0);
}

/* The 32-byte volume identifier of a descriptor, padding cut. */
static void vd_label(const unsigned char *vd, int joliet, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < 32; i += joliet ? 2 : 1)
        out[n++] = (char)vd[40 + i + (joliet ? 1 : 0)]; /* UCS-2BE: the low byte */
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
        out[--n] = '\0';
}

/* Read the descriptors from sector 16 on: the primary's label, the Joliet
 * supplementary's label (escape %/@, %/C or %/E), and Rock Ridge's "ER"
 * signature somewhere in the image. */
static void assert_iso_shape(const char *iso, const char *label)
{
    unsigned char *img;
    char got[40], cmd_out[PATH_MAX];
    char *argv[] = {"xorriso", "-no_rc", "-indev", (char *)iso, "-pvd_info", NULL};
    size_t len = 0, off;
    int joliet = 0;

    img = slurp(iso, &len);
    assert_non_null(img);
    assert_true(len >= 18 * 2048);
    assert_int_equal(img[16 * 2048], 1);
    assert_memory_equal(img + 16 * 2048 + 1, "CD001", 5);
    vd_label(img + 16 * 2048, 0, got);
    assert_string_equal(got, label);
    for (off = 17 * 2048; off + 2048 <= len && img[off] != 255; off += 2048) {
        if (img[off] == 2 && img[off + 88] == '%' && img[off + 89] == '/' &&
            strchr("@CE", img[off + 90])) {
            joliet = 1;
            vd_label(img + off, 1, got);
            assert_string_equal(got, label);
        }
    }
    assert_true(joliet);
    assert_non_null(memmem(img, len, "RRIP_1991A", 10));
    free(img);

    /* And as xorriso reports it. */
    snprintf(cmd_out, sizeof(cmd_out), "%s.pvd", iso);
    assert_int_equal(run(argv, cmd_out), 0);
    img = slurp(cmd_out, &len);
    snprintf(got, sizeof(got), "Volume Id    : %s\n", label);
    assert_non_null(strstr((char *)img, got));
    free(img);
    unlink(cmd_out);
}

static void spec_for(lv_seed_spec *spec, const char *format, const sample *s, const char *key)
{
    memset(spec, 0, sizeof(*spec));
    spec->format = format;
    spec->instance_id = ID;
    spec->key_name = "ops key";
    spec->public_key = key;
    spec->user_data = s ? s->data : NULL;
    spec->user_data_len = s ? s->len : 0;
}

/* ---- meta-data text ------------------------------------------------------------ */

static void test_nocloud_meta(void **state)
{
    lv_seed_spec spec;
    cg_error err = {0};
    char *md;

    spec_for(&spec, NULL, NULL, NULL);
    md = lv_seed_nocloud_meta(&spec, &err);
    assert_string_equal(md, "instance-id: \"" ID "\"\nlocal-hostname: \"" ID "\"\n");
    free(md);

    spec.public_key = KEY "\n";
    md = lv_seed_nocloud_meta(&spec, &err);
    assert_string_equal(md, "instance-id: \"" ID "\"\nlocal-hostname: \"" ID "\"\n"
                            "public-keys:\n  - \"" KEY "\"\n");
    free(md);

    /* Two keys (CRLF, blank lines between), comments that would be YAML
     * syntax unquoted, escapes for what YAML cannot carry literally. */
    spec.public_key = "\r\nssh-rsa AAAA x: y # \"q\" \\ {a} [b] &c *d !e %f @g `h`\r\n\r\n"
                      "ssh-ed25519 BBBB t\tab \x01\x7f \xc2\x85 \xef\xbb\xbf caf\xc3\xa9 "
                      "\xe2\x82\xac\xf0\x9f\x90\xa7  \n";
    md = lv_seed_nocloud_meta(&spec, &err);
    assert_string_equal(md, "instance-id: \"" ID "\"\nlocal-hostname: \"" ID "\"\n"
                            "public-keys:\n"
                            "  - \"ssh-rsa AAAA x: y # \\\"q\\\" \\\\ {a} [b] &c *d !e %f @g "
                            "`h`\"\n"
                            "  - \"ssh-ed25519 BBBB t\\x09ab \\x01\\x7F \\u0085 \\uFEFF "
                            "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x90\xa7\"\n");
    free(md);

    /* Not UTF-8 (a lone continuation byte; an overlong '/'; a surrogate). */
    spec.public_key = "ssh-rsa AAAA \x80";
    assert_null(lv_seed_nocloud_meta(&spec, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    spec.public_key = "ssh-rsa AAAA \xc0\xaf";
    assert_null(lv_seed_nocloud_meta(&spec, &err));
    cg_error_clear(&err);
    spec.public_key = "ssh-rsa AAAA \xed\xa0\x80";
    assert_null(lv_seed_nocloud_meta(&spec, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    spec.instance_id = "";
    assert_null(lv_seed_nocloud_meta(&spec, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
}

static json_object *parse_json(const char *text)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj;
    size_t len = strlen(text);

    assert_non_null(tok);
    /* One document and its newline, nothing else. */
    assert_true(len > 2 && text[len - 1] == '\n' && text[len - 2] == '}');
    obj = json_tokener_parse_ex(tok, text, (int)len - 1);
    assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
    assert_int_equal(json_tokener_get_parse_end(tok), len - 1);
    json_tokener_free(tok);
    assert_non_null(obj);
    return obj;
}

static const char *jstr(json_object *obj, const char *key)
{
    json_object *v;

    assert_true(json_object_object_get_ex(obj, key, &v));
    assert_true(json_object_is_type(v, json_type_string));
    return json_object_get_string(v);
}

static void test_configdrive_meta(void **state)
{
    lv_seed_spec spec;
    cg_error err = {0};
    json_object *obj, *keys, *v;
    char *md;

    spec_for(&spec, LV_SEED_CONFIGDRIVE, NULL, NULL);
    obj = parse_json(md = lv_seed_configdrive_meta(&spec, &err));
    assert_string_equal(jstr(obj, "uuid"), ID);
    assert_string_equal(jstr(obj, "hostname"), ID);
    assert_string_equal(jstr(obj, "name"), ID);
    assert_false(json_object_object_get_ex(obj, "public_keys", NULL));
    assert_int_equal(json_object_object_length(obj), 3);
    json_object_put(obj);
    free(md);

    spec.key_name = "ops \"key\" / \\ caf\xc3\xa9";
    spec.public_key = KEY " \"quoted\" \x01\n";
    obj = parse_json(md = lv_seed_configdrive_meta(&spec, &err));
    assert_true(json_object_object_get_ex(obj, "public_keys", &keys));
    assert_int_equal(json_object_object_length(keys), 1);
    assert_string_equal(jstr(keys, spec.key_name), KEY " \"quoted\" \x01");
    json_object_put(obj);
    free(md);

    /* Several lines: a list under the one name; no name: "default". */
    spec.key_name = NULL;
    spec.public_key = "ssh-rsa AAAA one\r\n\r\nssh-rsa BBBB two";
    obj = parse_json(md = lv_seed_configdrive_meta(&spec, &err));
    assert_true(json_object_object_get_ex(obj, "public_keys", &keys));
    assert_true(json_object_object_get_ex(keys, "default", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
                        "ssh-rsa AAAA one");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)),
                        "ssh-rsa BBBB two");
    json_object_put(obj);
    free(md);

    spec.public_key = "ssh-rsa \xff";
    assert_null(lv_seed_configdrive_meta(&spec, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
}

/* ---- images, read back ------------------------------------------------------------- */

static void test_nocloud_images(void **state)
{
    sample s[8];
    size_t n = samples(s), i, t;
    static const char *const trees[] = {"nojoliet", "norock"};
    char dir[64], iso[PATH_MAX], out[PATH_MAX];
    lv_seed_spec spec;
    cg_error err = {0};
    char *md;

    make_tmp(dir, sizeof(dir));
    for (i = 0; i < n; i++) {
        spec_for(&spec, i % 2 ? NULL : LV_SEED_NOCLOUD, &s[i], i % 3 ? KEY : NULL);
        snprintf(iso, sizeof(iso), "%s/%s.iso", dir, s[i].name);
        if (lv_seed_write_iso(&spec, iso, &err) < 0)
            fail_msg("%s: %s", s[i].name, err.message);
        assert_iso_shape(iso, "cidata");
        md = lv_seed_nocloud_meta(&spec, &err);
        assert_non_null(md);
        for (t = 0; t < 2; t++) {
            snprintf(out, sizeof(out), "%s/%s-%s", dir, s[i].name, trees[t]);
            extract(iso, trees[t], out);
            /* Exactly these two: no network-config, nothing else. */
            assert_string_equal(files_under(out), "meta-data user-data");
            assert_file(out, "meta-data", md, strlen(md));
            /* Without user-data, an empty file: NoCloud needs both. */
            assert_file(out, "user-data", s[i].data ? (const void *)s[i].data : "", s[i].len);
        }
        free(md);
    }
    rm_tree(dir);
}

static void test_configdrive_images(void **state)
{
    sample s[8];
    size_t n = samples(s), i, t;
    static const char *const trees[] = {"nojoliet", "norock"};
    char dir[64], iso[PATH_MAX], out[1024], path[PATH_MAX];
    lv_seed_spec spec;
    cg_error err = {0};
    json_object *obj;
    unsigned char *text;
    size_t len;
    char *md;

    make_tmp(dir, sizeof(dir));
    for (i = 0; i < n; i++) {
        spec_for(&spec, LV_SEED_CONFIGDRIVE, &s[i], i % 2 ? KEY : NULL);
        snprintf(iso, sizeof(iso), "%s/%s.iso", dir, s[i].name);
        if (lv_seed_write_iso(&spec, iso, &err) < 0)
            fail_msg("%s: %s", s[i].name, err.message);
        assert_iso_shape(iso, "config-2");
        md = lv_seed_configdrive_meta(&spec, &err);
        assert_non_null(md);
        for (t = 0; t < 2; t++) {
            snprintf(out, sizeof(out), "%s/%s-%s", dir, s[i].name, trees[t]);
            extract(iso, trees[t], out);
            if (s[i].data) {
                assert_string_equal(files_under(out), "openstack/latest/meta_data.json "
                                                      "openstack/latest/user_data");
                assert_file(out, "openstack/latest/user_data", s[i].data, s[i].len);
            } else {
                /* user_data is optional: none without user-data. */
                assert_string_equal(files_under(out), "openstack/latest/meta_data.json");
            }
            assert_file(out, "openstack/latest/meta_data.json", md, strlen(md));
            snprintf(path, sizeof(path), "%s/openstack/latest/meta_data.json", out);
            text = slurp(path, &len);
            obj = parse_json((const char *)text);
            assert_string_equal(jstr(obj, "uuid"), ID);
            if (spec.public_key) {
                json_object *keys;

                assert_true(json_object_object_get_ex(obj, "public_keys", &keys));
                assert_string_equal(jstr(keys, "ops key"), KEY);
            }
            json_object_put(obj);
            free(text);
        }
        free(md);
    }
    rm_tree(dir);
}

/* ---- the private directory ------------------------------------------------------- */

static int is_empty_dir(const char *dir)
{
    return strcmp(files_under(dir), "") == 0 && rmdir(dir) == 0 && mkdir(dir, 0700) == 0;
}

static void test_tmp_removed(void **state)
{
    char dir[64], tmp[PATH_MAX], iso[PATH_MAX];
    char *saved_tmp = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    char *saved_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    sample s[8];
    lv_seed_spec spec;
    cg_error err = {0};
    struct stat sb;

    samples(s);
    make_tmp(dir, sizeof(dir));
    snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
    assert_int_equal(mkdir(tmp, 0700), 0);
    snprintf(iso, sizeof(iso), "%s/seed.iso", dir);
    setenv("TMPDIR", tmp, 1);

    spec_for(&spec, NULL, &s[3], KEY);
    if (lv_seed_write_iso(&spec, iso, &err) < 0)
        fail_msg("seed: %s", err.message);
    assert_int_equal(stat(iso, &sb), 0);
    assert_true(is_empty_dir(tmp));

    /* xorriso cannot be found: an error naming it, and nothing left. */
    setenv("PATH", "/nonexistent", 1);
    assert_int_equal(lv_seed_write_iso(&spec, iso, &err), -1);
    setenv("PATH", saved_path, 1);
    assert_int_equal(err.kind, CG_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "xorriso"));
    assert_true(is_empty_dir(tmp));

    /* xorriso fails (the output cannot be written): its own words come back. */
    cg_error_clear(&err);
    snprintf(iso, sizeof(iso), "%s/no/such/dir/seed.iso", dir);
    assert_int_equal(lv_seed_write_iso(&spec, iso, &err), -1);
    assert_non_null(strstr(err.message, "xorriso failed"));
    assert_true(is_empty_dir(tmp));

    /* Refused before anything is written. */
    cg_error_clear(&err);
    spec.format = "vfat";
    assert_int_equal(lv_seed_write_iso(&spec, iso, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    cg_error_clear(&err);
    spec.format = NULL;
    spec.public_key = "\xff";
    assert_int_equal(lv_seed_write_iso(&spec, iso, &err), -1);
    assert_int_equal(err.kind, CG_ERR_INVALID);
    assert_true(is_empty_dir(tmp));

    if (saved_tmp)
        setenv("TMPDIR", saved_tmp, 1);
    else
        unsetenv("TMPDIR");
    free(saved_tmp);
    free(saved_path);
    rm_tree(dir);
}

/* A stand-in for xorriso that says what xorriso says when it catches a
 * signal (its first call in "once" mode, every call in "always" and "term"
 * modes), counts its calls in $CG_FAKE_CALLS, and otherwise runs the real
 * one. */
static const char fake_xorriso[] =
    "#!/bin/sh\n"
    "echo x >> \"$CG_FAKE_CALLS\"\n"
    "n=$(wc -l < \"$CG_FAKE_CALLS\")\n"
    "case \"$CG_FAKE_MODE:$n\" in\n"
    "once:1|always:*) echo 'xorriso : UNIX-SIGNAL: SIGSEGV errno= 0' >&2; exit 1;;\n"
    "term:*) echo 'xorriso : UNIX-SIGNAL: SIGTERM errno= 0' >&2; exit 1;;\n"
    "esac\n"
    "exec /usr/bin/xorriso \"$@\"\n";

/* Calls the stand-in made in mode: the seed's result into *rc, err. */
static int fake_calls(const char *dir, const char *mode, const char *iso, int *rc, cg_error *err)
{
    char *saved = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    char calls[PATH_MAX], path[PATH_MAX * 2], line[8];
    sample s[8];
    lv_seed_spec spec;
    FILE *f;
    int n = 0;

    samples(s);
    spec_for(&spec, NULL, &s[3], KEY);
    snprintf(calls, sizeof(calls), "%s/calls-%s", dir, mode);
    snprintf(path, sizeof(path), "%s/bin:%s", dir, saved);
    setenv("CG_FAKE_CALLS", calls, 1);
    setenv("CG_FAKE_MODE", mode, 1);
    setenv("PATH", path, 1);
    cg_error_clear(err);
    *rc = lv_seed_write_iso(&spec, iso, err);
    setenv("PATH", saved, 1);
    free(saved);
    if ((f = fopen(calls, "r"))) {
        while (fgets(line, sizeof(line), f))
            n++;
        fclose(f);
    }
    return n;
}

/* xorriso that crashes gets one more try; one stopped by a signal does not. */
static void test_crashed_xorriso_tried_again(void **state)
{
    char dir[64], bin[PATH_MAX], tool[PATH_MAX + 16], iso[PATH_MAX];
    cg_error err = {0};
    FILE *f;
    int rc;

    (void)state;
    make_tmp(dir, sizeof(dir));
    snprintf(bin, sizeof(bin), "%s/bin", dir);
    assert_int_equal(mkdir(bin, 0700), 0);
    snprintf(tool, sizeof(tool), "%s/xorriso", bin);
    assert_non_null(f = fopen(tool, "w"));
    assert_int_equal(fputs(fake_xorriso, f) < 0, 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(tool, 0700), 0);
    snprintf(iso, sizeof(iso), "%s/seed.iso", dir);

    /* Crashed once: the second try makes the seed. */
    assert_int_equal(fake_calls(dir, "once", iso, &rc, &err), 2);
    if (rc < 0)
        fail_msg("seed: %s", err.message);
    assert_iso_shape(iso, "cidata");
    /* Crashed twice: the launch fails, saying so. */
    unlink(iso);
    assert_int_equal(fake_calls(dir, "always", iso, &rc, &err), 2);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.message, "UNIX-SIGNAL: SIGSEGV"));
    /* Stopped (SIGTERM): not a crash, no second try. */
    assert_int_equal(fake_calls(dir, "term", iso, &rc, &err), 1);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.message, "SIGTERM"));
    unsetenv("CG_FAKE_CALLS");
    unsetenv("CG_FAKE_MODE");
    rm_tree(dir);
}

static void test_names(void **state)
{
    char name[64];

    lv_seed_volume_name(ID, name, sizeof(name));
    assert_string_equal(name, ID "-seed.iso");
    assert_true(lv_seed_format_ok(NULL));
    assert_true(lv_seed_format_ok("nocloud"));
    assert_true(lv_seed_format_ok("configdrive"));
    assert_false(lv_seed_format_ok("NoCloud"));
    assert_false(lv_seed_format_ok(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_nocloud_meta),
        cmocka_unit_test(test_configdrive_meta),
        cmocka_unit_test(test_nocloud_images),
        cmocka_unit_test(test_configdrive_images),
        cmocka_unit_test(test_tmp_removed),
        cmocka_unit_test(test_crashed_xorriso_tried_again),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cloudgate libvirt driver: cloud-init seed images (lv_seed.h).
 *
 * What cloud-init expects (cloudinit/sources/DataSourceNoCloud.py and
 * DataSourceConfigDrive.py):
 * - NoCloud: an iso9660 or vfat filesystem labelled "cidata" whose root holds
 *   both user-data and meta-data; a seed missing either is not a seed, so an
 *   instance launched without user-data gets an empty user-data file.
 *   vendor-data and network-config are optional.  network-config is only
 *   needed when the default (DHCP on the first NIC) is wrong: static
 *   addresses or several NICs.  An instance has one NIC on a libvirt network
 *   that hands out leases, so it is never written for now.
 * - ConfigDrive v2: label "config-2", openstack/latest/meta_data.json
 *   (required, with "uuid", which becomes the instance id) and an optional
 *   openstack/latest/user_data, written only when there is user-data.
 * User-data is written byte for byte as the user sent it: cloud-config,
 * scripts, MIME multipart and gzip are cloud-init's to tell apart.
 */
#include "lv_seed.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../../engine/tool_run.h"
#include "../../gateway/log.h"
#include "../../gateway/util.h"
#include "lv_storage.h"

/* The private directory's path: short enough that every path in it fits
 * in PATH_MAX. */
#define TMP_MAX_LEN 1024

/* ---- text ------------------------------------------------------------------ */

/* A growable string; after a failed allocation it stays failed (oom). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *p, size_t n)
{
    char *grown;
    size_t cap;

    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        for (cap = b->cap ? b->cap : 256; cap < b->len + n + 1; cap *= 2)
            ;
        if (!(grown = realloc(b->s, cap))) {
            b->oom = 1;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Decode the UTF-8 character at s (n bytes left) into *cp.  Its length, or 0
 * when it is not well-formed: overlong, a surrogate, past U+10FFFF, cut. */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp)
{
    static const unsigned min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len, i;
    unsigned c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        c = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        c = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min_for_len[len] || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return 0;
    *cp = c;
    return len;
}

static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), len;
    unsigned cp;

    for (; n > 0; p += len, n -= len) {
        if (!(len = utf8_char(p, n, &cp)))
            return 0;
    }
    return 1;
}

/* Append s as a YAML double-quoted scalar.  Printable ASCII goes as it is
 * but for '"' and '\'; what YAML may not carry literally (C0 controls, DEL,
 * C1 controls, the BOM, U+FFFE/U+FFFF) goes as an escape, so no value can
 * end the scalar or start a new key.  -1 when s is not UTF-8. */
static int yaml_quoted(sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), len;
    unsigned cp;
    char esc[16];

    sb_str(b, "\"");
    for (; n > 0; p += len, n -= len) {
        if (!(len = utf8_char(p, n, &cp)))
            return -1;
        if (cp == '"' || cp == '\\') {
            snprintf(esc, sizeof(esc), "\\%c", (char)cp);
            sb_str(b, esc);
        } else if (cp < 0x20 || cp == 0x7F) {
            snprintf(esc, sizeof(esc), "\\x%02X", cp);
            sb_str(b, esc);
        } else if ((cp >= 0x80 && cp <= 0x9F) || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) {
            snprintf(esc, sizeof(esc), "\\u%04X", cp);
            sb_str(b, esc);
        } else {
            sb_add(b, (const char *)p, len);
        }
    }
    sb_str(b, "\"");
    return 0;
}

/* The next non-blank line of *p (LF or CRLF), trailing blanks cut, as a
 * malloc'd string; *p moves past it.  NULL at the end, or with *oom set. */
static char *next_line(const char **p, int *oom)
{
    while (**p) {
        const char *s = *p, *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char *line;

        *p = s + len + (e ? 1 : 0);
        while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (strspn(s, " \t") >= len)
            continue;
        if (!(line = strndup(s, len)))
            *oom = 1;
        return line;
    }
    return NULL;
}

static int id_ok(const lv_seed_spec *spec, cg_error *err)
{
    if (!spec || !spec->instance_id || !*spec->instance_id) {
        cg_error_set(err, CG_ERR_INVALID, "a seed needs an instance id");
        return 0;
    }
    return 1;
}

char *lv_seed_nocloud_meta(const lv_seed_spec *spec, cg_error *err)
{
    sbuf b = {0};
    const char *keys;
    char *line;
    int oom = 0, bad = 0, first = 1;

    if (!id_ok(spec, err))
        return NULL;
    /* local-hostname is the instance id too: EC2 names a host after its
     * private address (ip-10-0-0-5), which is unknown until the guest has
     * booted and got its DHCP lease; the id is unique and a valid hostname. */
    sb_str(&b, "instance-id: ");
    bad |= yaml_quoted(&b, spec->instance_id);
    sb_str(&b, "\nlocal-hostname: ");
    bad |= yaml_quoted(&b, spec->instance_id);
    sb_str(&b, "\n");
    keys = spec->public_key ? spec->public_key : "";
    while ((line = next_line(&keys, &oom))) {
        if (first)
            sb_str(&b, "public-keys:\n");
        first = 0;
        sb_str(&b, "  - ");
        bad |= yaml_quoted(&b, line);
        sb_str(&b, "\n");
        free(line);
    }
    if (bad || oom || b.oom) {
        if (bad)
            cg_error_set(err, CG_ERR_INVALID, "seed meta-data: a value is not valid UTF-8");
        else
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* key -> string under obj; a failure sets *failed. */
static void json_put(json_object *obj, const char *key, json_object *val, int *failed)
{
    if (!val || json_object_object_add(obj, key, val) < 0) {
        json_object_put(val);
        *failed = 1;
    }
}

char *lv_seed_configdrive_meta(const lv_seed_spec *spec, cg_error *err)
{
    json_object *root = NULL, *keys = NULL, *list = NULL, *s;
    const char *p, *name, *json;
    char *line, *out = NULL;
    int oom = 0, failed = 0, bad;

    if (!id_ok(spec, err))
        return NULL;
    name = spec->key_name && *spec->key_name ? spec->key_name : "default";
    bad = !utf8_ok(spec->instance_id) || !utf8_ok(name);
    if (!(root = json_object_new_object()) || !(list = json_object_new_array())) {
        failed = 1;
        goto cleanup;
    }
    /* cloud-init copies uuid to instance-id and hostname to local-hostname
     * (openstack.py, KEY_COPIES); the hostname is the id, as for NoCloud. */
    json_put(root, "uuid", json_object_new_string(spec->instance_id), &failed);
    json_put(root, "hostname", json_object_new_string(spec->instance_id), &failed);
    json_put(root, "name", json_object_new_string(spec->instance_id), &failed);
    p = spec->public_key ? spec->public_key : "";
    while ((line = next_line(&p, &oom))) {
        bad |= !utf8_ok(line);
        if (!(s = json_object_new_string(line)) || json_object_array_add(list, s) < 0) {
            json_object_put(s);
            failed = 1;
        }
        free(line);
    }
    /* {name: key}, as OpenStack writes it; several lines become a list,
     * which cloud-init's normalize_pubkey_data takes as well. */
    if (json_object_array_length(list) > 0) {
        if (!(keys = json_object_new_object())) {
            failed = 1;
            goto cleanup;
        }
        if (json_object_array_length(list) == 1)
            s = json_object_get(json_object_array_get_idx(list, 0));
        else
            s = json_object_get(list);
        json_put(keys, name, s, &failed);
        json_put(root, "public_keys", keys, &failed);
    }
    if (failed || oom || bad)
        goto cleanup;
    json = json_object_to_json_string_ext(root,
                                          JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!json || !(out = malloc(strlen(json) + 2)))
        failed = 1;
    else
        sprintf(out, "%s\n", json);

cleanup:
    if (bad)
        cg_error_set(err, CG_ERR_INVALID, "seed meta_data.json: a value is not valid UTF-8");
    else if (failed || oom)
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
    json_object_put(list);
    json_object_put(root);
    return out;
}

/* ---- files and the image ----------------------------------------------------- */

int lv_seed_format_ok(const char *format)
{
    return !format || strcmp(format, LV_SEED_NOCLOUD) == 0 ||
           strcmp(format, LV_SEED_CONFIGDRIVE) == 0 || strcmp(format, LV_SEED_IMDS) == 0;
}

void lv_seed_volume_name(const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%s-seed.iso", id);
}

static int is_configdrive(const lv_seed_spec *spec)
{
    return spec->format && strcmp(spec->format, LV_SEED_CONFIGDRIVE) == 0;
}

/* Create dir/name (which must not exist) holding exactly data[0..len). */
static int write_file(const char *dir, const char *name, const void *data, size_t len,
                      cg_error *err)
{
    char path[PATH_MAX];
    const char *p = data;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        goto fail;
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(fd);
            goto fail;
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) < 0)
        goto fail;
    return 0;

fail:
    cg_error_set(err, CG_ERR_INTERNAL, "seed: cannot write %s: %s", path, strerror(errno));
    return -1;
}

static int make_dir(const char *dir, const char *name, cg_error *err)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (mkdir(path, 0700) < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "seed: cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The seed's files under root.  0 or -1. */
static int write_tree(const lv_seed_spec *spec, const char *root, cg_error *err)
{
    static const unsigned char none[1];
    const unsigned char *ud = spec->user_data ? spec->user_data : none;
    char *meta = NULL;
    int ret = -1;

    if (is_configdrive(spec)) {
        if (!(meta = lv_seed_configdrive_meta(spec, err)) || make_dir(root, "openstack", err) < 0 ||
            make_dir(root, "openstack/latest", err) < 0 ||
            write_file(root, "openstack/latest/meta_data.json", meta, strlen(meta), err) < 0 ||
            (spec->user_data &&
             write_file(root, "openstack/latest/user_data", ud, spec->user_data_len, err) < 0))
            goto cleanup;
    } else {
        if (!(meta = lv_seed_nocloud_meta(spec, err)) ||
            write_file(root, "meta-data", meta, strlen(meta), err) < 0 ||
            write_file(root, "user-data", ud, spec->user_data ? spec->user_data_len : 0, err) < 0)
            goto cleanup;
    }
    ret = 0;

cleanup:
    free(meta);
    return ret;
}

/* Did the tool crash (a fault, not a signal someone sent to stop it)?
 * xorriso catches the signal and says so ("UNIX-SIGNAL: SIGSEGV ..."); a
 * tool that does not is "killed by signal N" (engine/tool_run.c). */
static int crashed(const char *msg)
{
    static const char *const names[] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"};
    static const int nums[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    const char *p;
    size_t i;

    for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        size_t n = strlen(names[i]);

        if ((p = strstr(msg, "UNIX-SIGNAL: ")) && strncmp(p + 13, names[i], n) == 0 &&
            (p[13 + n] == '\0' || p[13 + n] == ' '))
            return 1;
        if ((p = strstr(msg, "killed by signal ")) && atoi(p + 17) == nums[i])
            return 1;
    }
    return 0;
}

/* xorriso -as mkisofs: Rock Ridge (-r: world-readable, owned by root, as a
 * guest expects) and Joliet (-J) over root, labelled label.  -no_rc first:
 * no user or system startup file may change what is written.  Its output
 * goes to log (the seed's private directory), its last line into err. */
static int run_xorriso(const char *root, const char *label, const char *iso, const char *log,
                       cg_error *err)
{
    char *argv[] = {"xorriso", "-no_rc",      "-as", "mkisofs", "-quiet",     "-o", (char *)iso,
                    "-V",      (char *)label, "-J",  "-r",      (char *)root, NULL};
    cg_tool_spec spec = {.argv = argv, .package = "xorriso"};
    cg_error why = {0};
    int rc = -1, tries;

    /* Debian 12's xorriso (1.5.4) caught a signal in two CI runs, each
     * once in hundreds of seeds (the second run named it: SIGSEGV), and
     * never in 5,100 runs alone: the tool's crash, not the seed's content.
     * One more try, on a fresh output file, before the launch fails. */
    for (tries = 0; tries < 2; tries++) {
        cg_error_clear(&why);
        if ((spec.log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "seed: cannot make %s: %s", log, strerror(errno));
            return -1;
        }
        rc = cg_tool_run(&spec, &why);
        close(spec.log_fd);
        if (rc == 0 || !crashed(why.message))
            break;
        if (tries == 0)
            cg_warn("seed: xorriso crashed (%s); trying once more", why.message);
        unlink(iso);
    }
    if (rc < 0)
        cg_error_set(err, CG_ERR_INTERNAL, "seed: %s", why.message); /* a host without it: ours */
    return rc;
}

/* In the private directory tmp: the files under tmp/root, then the image
 * at iso.  0 or -1. */
static int build_in(const char *tmp, const lv_seed_spec *spec, const char *iso, cg_error *err)
{
    char root[PATH_MAX], log[PATH_MAX];

    snprintf(root, sizeof(root), "%s/root", tmp);
    snprintf(log, sizeof(log), "%s/xorriso.log", tmp);
    if (make_dir(tmp, "root", err) < 0 || write_tree(spec, root, err) < 0)
        return -1;
    return run_xorriso(root, is_configdrive(spec) ? "config-2" : "cidata", iso, log, err);
}

/* A new private (0700) directory under $TMPDIR (default /tmp) into buf.
 * 0 or -1. */
static int make_tmp(char *buf, size_t len, cg_error *err)
{
    if (cg_tmp_path(buf, len, "cg-seed-XXXXXX") < 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "seed: TMPDIR is too long");
        return -1;
    }
    if (!mkdtemp(buf)) {
        cg_error_set(err, CG_ERR_INTERNAL, "seed: cannot create %s: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}

static void remove_tmp(const char *dir)
{
    cg_rm_tree(dir);
}

static int spec_ok(const lv_seed_spec *spec, cg_error *err)
{
    if (!id_ok(spec, err))
        return 0;
    if (!lv_seed_format_ok(spec->format)) {
        cg_error_set(err, CG_ERR_INVALID, "unknown seed format '%s'", spec->format);
        return 0;
    }
    return 1;
}

int lv_seed_write_iso(const lv_seed_spec *spec, const char *iso_path, cg_error *err)
{
    char tmp[TMP_MAX_LEN];
    int ret;

    if (!spec_ok(spec, err))
        return -1;
    if (make_tmp(tmp, sizeof(tmp), err) < 0)
        return -1;
    ret = build_in(tmp, spec, iso_path, err);
    remove_tmp(tmp);
    return ret;
}

char *lv_seed_create(virConnectPtr conn, const char *pool, const lv_seed_spec *spec, int *replaced,
                     cg_error *err)
{
    char tmp[TMP_MAX_LEN], iso[PATH_MAX], name[64];
    unsigned long long capacity = 0;
    char *path = NULL;
    int rc;

    if (replaced)
        *replaced = 0;
    if (!spec_ok(spec, err))
        return NULL;
    lv_seed_volume_name(spec->instance_id, name, sizeof(name));
    if (make_tmp(tmp, sizeof(tmp), err) < 0)
        return NULL;
    snprintf(iso, sizeof(iso), "%s/seed.iso", tmp);
    if (build_in(tmp, spec, iso, err) < 0)
        goto cleanup;
    if (replaced) {
        if ((rc = lv_storage_delete(conn, pool, name, err)) < 0)
            goto cleanup;
        *replaced = rc == 1;
    }
    if (lv_storage_upload(conn, pool, name, iso, &capacity, err) < 0)
        goto cleanup;
    if (!(path = lv_storage_path(conn, pool, name, err)))
        lv_storage_delete(conn, pool, name, NULL);

cleanup:
    remove_tmp(tmp);
    return path;
}

int lv_seed_delete(virConnectPtr conn, const char *pool, const char *id, cg_error *err)
{
    char name[64];

    lv_seed_volume_name(id, name, sizeof(name));
    return lv_storage_delete(conn, pool, name, err);
}

/* cloudgate fuzz target: the cloud-init seed's files (drivers/libvirt/
 * lv_seed.c): NoCloud meta-data (YAML), ConfigDrive meta_data.json and, in
 * the replay and when CG_FUZZ_SEED_ISO is set, the ISO image (xorriso is a
 * process per input: too slow for every libFuzzer run).
 *
 * Input: newline-separated FORMAT, INSTANCE-ID, KEY-NAME, then the public
 * key lines, a NUL, and the user-data.  Checks: every meta-data line is a
 * known key or a quoted list item (no value starts a key of its own); the
 * JSON parses back to the id and one key entry per non-blank key line; the
 * user-data bytes are in the image unchanged. */
#include <json-c/json.h>
#include <unistd.h>

#include "fuzz.h"
#include "drivers/libvirt/lv_seed.h"

static size_t key_lines(const char *s)
{
    size_t n = 0;

    while (*s) {
        size_t len = strcspn(s, "\n"), blank = strspn(s, " \t\r");
        n += blank < len;
        s += len + (s[len] == '\n');
    }
    return n;
}

static void check_nocloud(const char *y, size_t keys)
{
    size_t items = 0, len;
    const char *l;

    for (l = y; *l; l += len + 1) {
        len = strcspn(l, "\n");
        FZ_CHECK(l[len] == '\n'); /* every line ends */
        if (strncmp(l, "  - \"", 5) == 0)
            items++;
        else
            FZ_CHECK(strncmp(l, "instance-id: \"", 14) == 0 ||
                     strncmp(l, "local-hostname: \"", 17) == 0 ||
                     (len == 12 && strncmp(l, "public-keys:", 12) == 0));
        FZ_CHECK(len == 12 || l[len - 1] == '"');
    }
    FZ_CHECK(items == keys);
}

static void check_configdrive(const char *text, const char *id, const char *key_name,
                              size_t keys)
{
    json_object *j = json_tokener_parse(text), *v, *pk;

    FZ_CHECK(j != NULL);
    FZ_CHECK(json_object_object_get_ex(j, "uuid", &v) && !strcmp(json_object_get_string(v), id));
    FZ_CHECK(json_object_object_get_ex(j, "hostname", &v) &&
             !strcmp(json_object_get_string(v), id));
    if (keys) {
        FZ_CHECK(json_object_object_get_ex(j, "public_keys", &pk));
        FZ_CHECK(json_object_object_get_ex(pk, *key_name ? key_name : "default", &v));
        FZ_CHECK(keys == 1 ? json_object_is_type(v, json_type_string)
                           : json_object_array_length(v) == keys);
    } else {
        FZ_CHECK(!json_object_object_get_ex(j, "public_keys", NULL));
    }
    json_object_put(j);
}

/* Build the image in a private directory; the user-data must be in it. */
static void check_iso(const lv_seed_spec *spec)
{
    char dir[] = "/tmp/cg_fuzz_seed_XXXXXX", iso[64];
    cg_error err = {0};
    FILE *f;
    char *img = NULL;
    long n;

    if (!mkdtemp(dir))
        return;
    snprintf(iso, sizeof(iso), "%s/seed.iso", dir);
    if (lv_seed_write_iso(spec, iso, &err) == 0 && spec->user_data_len) {
        FZ_CHECK((f = fopen(iso, "rb")) != NULL);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        FZ_CHECK(n > 0 && (img = malloc((size_t)n)) && fread(img, 1, (size_t)n, f) == (size_t)n);
        FZ_CHECK(memmem(img, (size_t)n, spec->user_data, spec->user_data_len) != NULL);
        fclose(f);
        free(img);
    }
    unlink(iso);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[4], *text, *nul;
    size_t len[4], keys;
    lv_seed_spec spec = {0};
    cg_error err = {0};

    if (fz_split(data, size, 4, f, len) < 0)
        return 0;
    spec.format = len[0] ? f[0] : NULL;
    spec.instance_id = f[1];
    spec.key_name = f[2];
    spec.public_key = f[3];
    if ((nul = memchr(f[3], '\0', len[3])) && nul < f[3] + len[3]) {
        spec.user_data = (const unsigned char *)nul + 1;
        spec.user_data_len = len[3] - (size_t)(nul + 1 - f[3]);
    }
    keys = key_lines(f[3]);
    if ((text = lv_seed_nocloud_meta(&spec, &err))) {
        check_nocloud(text, keys);
        free(text);
    }
    cg_error_clear(&err);
    if ((text = lv_seed_configdrive_meta(&spec, &err))) {
        check_configdrive(text, f[1], f[2], keys);
        free(text);
    }
#ifdef CG_LIBFUZZER
    if (getenv("CG_FUZZ_SEED_ISO"))
#endif
        if (lv_seed_format_ok(spec.format) && *spec.instance_id)
            check_iso(&spec);
    fz_free(f, 4);
    return 0;
}

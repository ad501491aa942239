/* cloudgate fuzz target: what virt-v2v hands back (engine/v2v.c).  The
 * first byte picks the mode.  Even: the rest is virt-v2v's output, one line
 * per '\n', folded with cg_v2v_parse_line; checks: the percentage stays in
 * 0..100 and never goes back (a job's progress only moves forward), the
 * description is a terminated string.  Odd: the rest is the domain XML
 * "-o local" writes ("DIR" stands for the private directory it is read
 * from, so inputs can name files inside it), read with cg_v2v_read_xml;
 * checks: an accepted result has disks, vCPUs and memory, and every disk is
 * a plain path below the directory (never the directory, its parent or a
 * sibling), which is what the driver then adopts and deletes. */
#include <unistd.h>

#include "fuzz.h"
#include "engine/v2v.h"
#include "gateway/util.h"

static void lines(const uint8_t *data, size_t size)
{
    cg_v2v_progress p = {0};
    char *text = fz_strdup(data, size), *line, *save = NULL, desc[128];
    int last = 0, now;

    if (!text)
        return;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cg_v2v_parse_line(&p, line);
        now = cg_v2v_percent(&p);
        FZ_CHECK(now >= 0 && now <= 100 && now >= last);
        last = now;
        desc[sizeof desc - 1] = 'x';
        cg_v2v_describe(&p, desc, sizeof desc - 1);
        FZ_CHECK(memchr(desc, '\0', sizeof desc - 1) != NULL);
    }
    free(text);
}

static char dir[64];

static void remove_dir(void)
{
    cg_rm_tree(dir);
}

static void domain_xml(const uint8_t *data, size_t size)
{
    char path[128];
    cg_v2v_result r;
    cg_error err = {0};
    size_t dlen, i;
    FILE *f;

    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/cg-fuzz-v2v-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    snprintf(path, sizeof path, "%s/guest.xml", dir);
    if (!(f = fopen(path, "wb")))
        abort();
    dlen = strlen(dir);
    for (i = 0; i < size; i++) {
        if (i + 3 <= size && memcmp(data + i, "DIR", 3) == 0) {
            fwrite(dir, 1, dlen, f);
            i += 2;
        } else {
            fputc(data[i], f);
        }
    }
    fclose(f);
    if (cg_v2v_read_xml(path, dir, &r, &err) == 0) {
        FZ_CHECK(r.ndisks > 0 && r.ndisks <= CG_V2V_MAX_DISKS && r.vcpus > 0 &&
                 r.memory_bytes > 0);
        FZ_CHECK(memchr(r.name, '\0', sizeof r.name) != NULL);
        for (i = 0; i < r.ndisks; i++) {
            const char *rel = r.disk[i] + dlen + 1;
            FZ_CHECK(strncmp(r.disk[i], dir, dlen) == 0 && r.disk[i][dlen] == '/');
            FZ_CHECK(rel[0] && rel[0] != '/' && !strstr(rel, "//") && strcmp(rel, ".") &&
                     strcmp(rel, "..") && strncmp(rel, "../", 3) && !strstr(rel, "/../") &&
                     !strstr(rel, "/./") && strncmp(rel, "./", 2));
            FZ_CHECK(strlen(rel) < 2 || strcmp(rel + strlen(rel) - 2, "/.") != 0);
            FZ_CHECK(strlen(rel) < 3 || strcmp(rel + strlen(rel) - 3, "/..") != 0);
        }
    } else {
        FZ_CHECK(err.message[0] != '\0');
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0)
        lines(data + 1, size - 1);
    else
        domain_xml(data + 1, size - 1);
    return 0;
}

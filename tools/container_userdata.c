/* cloudgate: cloud-init user-data that runs one Docker container.
 *
 * Two layers of quoting, applied in this order at the one place a value
 * enters the text:
 *   1. shell: each word of a runcmd line goes through cg_shell_quote();
 *   2. YAML: each runcmd line is a double-quoted scalar (yaml_quote()).
 * cloud-init writes string runcmd items verbatim into a /bin/sh script, so
 * after YAML unquoting the shell sees exactly the words we quoted.
 *
 * Values are validated first: what Docker would read as an option (a leading
 * '-') or as something else than meant (a name with '/', a port "80:80:80")
 * is refused, and so are control characters and invalid UTF-8 anywhere.
 */
#include "tools/container_userdata.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation ------------------------------------------------------------ */

/* Valid UTF-8 with no C0/C1 control characters and no DEL.  Returns 0 or -1. */
static int check_text(const char *what, const char *s, cg_error *err)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        uint32_t cp;
        int n, i;

        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f) {
                cg_error_set(err, CG_ERR_INVALID,
                             "%s contains a control character (0x%02x): not allowed", what,
                             *p);
                return -1;
            }
            p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) {
            n = 1;
            cp = *p & 0x1f;
        } else if ((*p & 0xf0) == 0xe0) {
            n = 2;
            cp = *p & 0x0f;
        } else if ((*p & 0xf8) == 0xf0) {
            n = 3;
            cp = *p & 0x07;
        } else {
            goto bad;
        }
        for (i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond Unicode */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            goto bad;
        if (cp >= 0x80 && cp <= 0x9f) {
            cg_error_set(err, CG_ERR_INVALID,
                         "%s contains a control character (U+%04X): not allowed", what,
                         (unsigned)cp);
            return -1;
        }
        p += n + 1;
    }
    return 0;

bad:
    cg_error_set(err, CG_ERR_INVALID, "%s is not valid UTF-8", what);
    return -1;
}

static int in_set(const char *s, const char *set)
{
    return s[strspn(s, set)] == '\0';
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* An image reference as Docker spells it: [host[:port]/]path[:tag][@algo:hex].
 * Checked by character class and shape, not by the full grammar: what passes
 * is one shell word that Docker cannot take for an option. */
static int check_image(const char *s, cg_error *err)
{
    size_t len = strlen(s);
    const char *at = strchr(s, '@');

    if (len == 0 || len > 255 || !in_set(s, ALNUM "._-/:@") ||
        !strchr(ALNUM, s[0]) || !strchr(ALNUM, s[len - 1]) || strstr(s, "//") ||
        strstr(s, "..") || (at && strchr(at + 1, '@'))) {
        cg_error_set(err, CG_ERR_INVALID,
                     "image '%.64s' is not a Docker image reference "
                     "([registry/]repository[:tag][@digest])", s);
        return -1;
    }
    return 0;
}

/* Docker's own rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static int check_name(const char *s, cg_error *err)
{
    size_t len = strlen(s);

    if (len < 2 || len > 128 || !strchr(ALNUM, s[0]) || !in_set(s, ALNUM "_.-")) {
        cg_error_set(err, CG_ERR_INVALID,
                     "container name '%.64s' must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ "
                     "(at most 128 characters)", s);
        return -1;
    }
    return 0;
}

static int check_restart(const char *s, cg_error *err)
{
    const char *n;

    if (!strcmp(s, "no") || !strcmp(s, "always") || !strcmp(s, "unless-stopped") ||
        !strcmp(s, "on-failure"))
        return 0;
    if (!strncmp(s, "on-failure:", 11)) {
        n = s + 11;
        if (*n && strlen(n) <= 6 && in_set(n, "0123456789"))
            return 0;
    }
    cg_error_set(err, CG_ERR_INVALID,
                 "restart policy '%.64s' must be no, always, unless-stopped, on-failure "
                 "or on-failure:N", s);
    return -1;
}

/* A port number 1..65535 in [s, end). */
static int port_ok(const char *s, const char *end)
{
    unsigned long v = 0;

    if (s == end || end - s > 5 || *s == '0')
        return 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    return v >= 1 && v <= 65535;
}

/* "[IP:]HOST:CONTAINER[/tcp|/udp|/sctp]"; IP is IPv4 or [IPv6]. */
static int check_port(const char *s, cg_error *err)
{
    char ip[64];
    const char *p = s, *colon, *slash, *end;
    unsigned char addr[16];

    if (strlen(s) > 80)
        goto bad;
    if (*p == '[') { /* [IPv6]:HOST:CONTAINER */
        const char *close = strchr(p, ']');

        if (!close || close[1] != ':' || (size_t)(close - p - 1) >= sizeof(ip))
            goto bad;
        memcpy(ip, p + 1, (size_t)(close - p - 1));
        ip[close - p - 1] = '\0';
        if (inet_pton(AF_INET6, ip, addr) != 1)
            goto bad;
        p = close + 2;
    } else if (strchr(p, ':') && strchr(strchr(p, ':') + 1, ':')) { /* IPv4:HOST:CONT */
        colon = strchr(p, ':');
        if ((size_t)(colon - p) >= sizeof(ip))
            goto bad;
        memcpy(ip, p, (size_t)(colon - p));
        ip[colon - p] = '\0';
        if (inet_pton(AF_INET, ip, addr) != 1)
            goto bad;
        p = colon + 1;
    }
    colon = strchr(p, ':');
    if (!colon)
        goto bad;
    slash = strchr(colon + 1, '/');
    end = slash ? slash : colon + strlen(colon);
    if (!port_ok(p, colon) || !port_ok(colon + 1, end))
        goto bad;
    if (slash && strcmp(slash, "/tcp") && strcmp(slash, "/udp") && strcmp(slash, "/sctp"))
        goto bad;
    return 0;

bad:
    cg_error_set(err, CG_ERR_INVALID,
                 "port mapping '%.64s' must be [IP:]HOST:CONTAINER[/tcp|/udp|/sctp] "
                 "with ports 1-65535", s);
    return -1;
}

/* "KEY=VALUE": KEY a shell-style variable name, VALUE any printable text. */
static int check_env(const char *s, cg_error *err)
{
    const char *eq = strchr(s, '=');
    size_t klen = eq ? (size_t)(eq - s) : 0;

    if (klen == 0 || klen > 128 || (s[0] >= '0' && s[0] <= '9') ||
        strspn(s, ALNUM "_") != klen) {
        cg_error_set(err, CG_ERR_INVALID,
                     "environment setting '%.32s' must be KEY=VALUE with KEY "
                     "[A-Za-z_][A-Za-z0-9_]*", s);
        return -1;
    }
    return check_text("environment value", eq + 1, err);
}

/* ---- quoting ---------------------------------------------------------------- */

char *cg_shell_quote(const char *s)
{
    size_t n = 0, i;
    char *out, *o;

    if (*s && in_set(s, ALNUM "_@%+=:,./-"))
        return strdup(s);
    for (i = 0; s[i]; i++)
        n += s[i] == '\'' ? 5 : 1;
    if (!(out = malloc(n + 3)))
        return NULL;
    o = out;
    *o++ = '\'';
    for (i = 0; s[i]; i++) {
        if (s[i] == '\'') {
            memcpy(o, "'\"'\"'", 5);
            o += 5;
        } else {
            *o++ = s[i];
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* Append s (valid UTF-8, checked before) to f as a YAML double-quoted scalar
 * in pure ASCII: '\' and '"' escaped, anything non-ASCII as \uXXXX or
 * \UXXXXXXXX. */
static void yaml_quote(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    while (*p) {
        uint32_t cp;
        int n, i;

        if (*p < 0x80) {
            if (*p == '"' || *p == '\\')
                fputc('\\', f);
            fputc(*p++, f);
            continue;
        }
        n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : 3;
        cp = *p & (n == 1 ? 0x1f : n == 2 ? 0x0f : 0x07);
        for (i = 1; i <= n; i++)
            cp = (cp << 6) | (p[i] & 0x3f);
        if (cp <= 0xffff)
            fprintf(f, "\\u%04X", (unsigned)cp);
        else
            fprintf(f, "\\U%08X", (unsigned)cp);
        p += n + 1;
    }
    fputc('"', f);
}

/* Append " " + the shell-quoted word to the line being built. */
static void add_word(FILE *line, const char *word, int *oom)
{
    char *q = cg_shell_quote(word);

    if (!q) {
        *oom = 1;
        return;
    }
    fputc(' ', line);
    fputs(q, line);
    free(q);
}

/* The "docker pull" line (pull != 0) or the "docker run" line, as malloc'd
 * shell text; NULL on OOM. */
static char *docker_line(const cg_container_spec *spec, const char *name, const char *restart,
                         int pull)
{
    char *line = NULL;
    size_t len = 0, i;
    FILE *f = open_memstream(&line, &len);
    int oom = 0;

    if (!f)
        return NULL;
    if (pull) {
        fputs("docker pull", f);
        add_word(f, spec->image, &oom);
    } else {
        fputs("docker run -d --restart", f);
        add_word(f, restart, &oom);
        fputs(" --name", f);
        add_word(f, name, &oom);
        for (i = 0; i < spec->n_ports; i++) {
            fputs(" -p", f);
            add_word(f, spec->ports[i], &oom);
        }
        for (i = 0; i < spec->n_env; i++) {
            fputs(" -e", f);
            add_word(f, spec->env[i], &oom);
        }
        add_word(f, spec->image, &oom);
        for (i = 0; i < spec->n_command; i++)
            add_word(f, spec->command[i], &oom);
    }
    if (ferror(f))
        oom = 1;
    if (fclose(f) != 0 || oom) {
        free(line);
        return NULL;
    }
    return line;
}

/* Write "  - <yaml-quoted line>\n" to out. */
static void add_item(FILE *out, const char *line)
{
    fputs("  - ", out);
    yaml_quote(out, line);
    fputc('\n', out);
}

/* ---- the document ------------------------------------------------------------ */

char *cg_container_userdata(const cg_container_spec *spec, cg_error *err)
{
    const char *name, *restart;
    char *doc = NULL, *pull = NULL, *run = NULL;
    size_t doclen = 0, i;
    FILE *out = NULL;
    int ok = 0;

    if (!spec->image || !*spec->image) {
        cg_error_set(err, CG_ERR_MISSING, "an image is required");
        return NULL;
    }
    name = spec->name ? spec->name : CG_CONTAINER_DEFAULT_NAME;
    restart = spec->restart ? spec->restart : CG_CONTAINER_DEFAULT_RESTART;
    if (check_text("image", spec->image, err) < 0 || check_image(spec->image, err) < 0 ||
        check_text("container name", name, err) < 0 || check_name(name, err) < 0 ||
        check_text("restart policy", restart, err) < 0 || check_restart(restart, err) < 0)
        return NULL;
    for (i = 0; i < spec->n_ports; i++)
        if (check_text("port mapping", spec->ports[i], err) < 0 ||
            check_port(spec->ports[i], err) < 0)
            return NULL;
    for (i = 0; i < spec->n_env; i++)
        if (check_text("environment setting", spec->env[i], err) < 0 ||
            check_env(spec->env[i], err) < 0)
            return NULL;
    for (i = 0; i < spec->n_command; i++)
        if (check_text("command argument", spec->command[i], err) < 0)
            return NULL;

    if (!(pull = docker_line(spec, name, restart, 1)) ||
        !(run = docker_line(spec, name, restart, 0)) ||
        !(out = open_memstream(&doc, &doclen)))
        goto cleanup;
    fputs("#cloud-config\n"
          "# Written by cloudgate-admin container-userdata: runs one Docker container.\n"
          "# Needs a template with Docker installed.  runcmd runs on the first boot;\n"
          "# the restart policy brings the container back on later boots.\n"
          "runcmd:\n",
          out);
    add_item(out, "systemctl enable --now docker");
    add_item(out, pull);
    add_item(out, run);
    ok = !ferror(out);

cleanup:
    if (out && fclose(out) != 0)
        ok = 0;
    free(pull);
    free(run);
    if (!ok) {
        free(doc);
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (doclen > CG_CONTAINER_USERDATA_MAX) {
        cg_error_set(err, CG_ERR_INVALID,
                     "the user-data would be %zu bytes; EC2 allows at most %d", doclen,
                     CG_CONTAINER_USERDATA_MAX);
        free(doc);
        return NULL;
    }
    return doc;
}

/* ---- cloudgate-admin container-userdata --------------------------------------- */

static void cli_usage(FILE *to)
{
    fprintf(to,
            "usage: cloudgate-admin container-userdata --image IMAGE [--name NAME]\n"
            "           [--port [IP:]HOST:CONTAINER[/PROTO]]... [--env KEY=VALUE]...\n"
            "           [--restart no|always|unless-stopped|on-failure[:N]]\n"
            "           [--] [COMMAND [ARG]...]\n"
            "\n"
            "Prints #cloud-config user-data that enables docker, pulls IMAGE and runs it\n"
            "as container NAME (default %s, restart policy %s), for a template\n"
            "with Docker installed:\n"
            "  cloudgate-admin container-userdata --image nginx --port 80:80 |\n"
            "    aws ec2 run-instances --image-id ami-... --user-data file:///dev/stdin\n"
            "Values in user-data are readable by whoever can describe the instance:\n"
            "do not pass secrets with --env.\n",
            CG_CONTAINER_DEFAULT_NAME, CG_CONTAINER_DEFAULT_RESTART);
}

int cg_container_userdata_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"image", required_argument, NULL, 'i'}, {"name", required_argument, NULL, 'n'},
        {"port", required_argument, NULL, 'p'},  {"env", required_argument, NULL, 'e'},
        {"restart", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cg_container_spec spec = {0};
    const char **ports = NULL, **env = NULL;
    cg_error err = {0};
    char *doc = NULL;
    int c, rc = 2;

    /* Each repeated option takes at most one slot per argument. */
    ports = calloc((size_t)argc + 1, sizeof(*ports));
    env = calloc((size_t)argc + 1, sizeof(*env));
    if (!ports || !env) {
        fprintf(stderr, "cloudgate-admin: out of memory\n");
        rc = 1;
        goto cleanup;
    }
    spec.ports = ports;
    spec.env = env;
    optind = 1;
    /* '+': the first non-option (or what follows "--") starts the command, whose
     * own options are not ours. */
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'i': spec.image = optarg; break;
        case 'n': spec.name = optarg; break;
        case 'r': spec.restart = optarg; break;
        case 'p': ports[spec.n_ports++] = optarg; break;
        case 'e': env[spec.n_env++] = optarg; break;
        case 'h': cli_usage(stdout); rc = 0; goto cleanup;
        default: cli_usage(stderr); goto cleanup;
        }
    }
    if (!spec.image) {
        fprintf(stderr, "cloudgate-admin: container-userdata needs --image\n");
        cli_usage(stderr);
        goto cleanup;
    }
    spec.command = (const char *const *)argv + optind;
    spec.n_command = (size_t)(argc - optind);
    if (!(doc = cg_container_userdata(&spec, &err))) {
        fprintf(stderr, "cloudgate-admin: container-userdata: %s\n", err.message);
        rc = 1;
        goto cleanup;
    }
    rc = fputs(doc, stdout) < 0 || fflush(stdout) != 0 ? 1 : 0;
    if (rc)
        fprintf(stderr, "cloudgate-admin: cannot write the user-data\n");

cleanup:
    free(doc);
    free(ports);
    free(env);
    return rc;
}

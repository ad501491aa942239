/* cloudgate unit tests: tools/container_userdata.c, the cloud-init user-data
 * that runs a Docker container ("container in a VM").
 *
 * Golden documents are compared byte for byte.  Then the documents are handed
 * to Python's yaml.safe_load (what cloud-init uses) and their runcmd lines are
 * run the way cloud-init runs them (one /bin/sh script, and bash too) with
 * docker and systemctl replaced by shell functions that report their argv:
 * the words the shell sees must be exactly the values we put in, and nothing
 * else may happen (no file appears in the scratch directory).  That part is
 * skipped when /usr/bin/python3 or its yaml module (python3-yaml) is missing.
 * Docker itself is never run: the tests are offline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/container_userdata.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- goldens ----------------------------------------------------------------- */

static void test_golden_minimal(void **state)
{
    cg_container_spec s = {.image = "nginx"};
    cg_error err = {0};
    char *doc = cg_container_userdata(&s, &err);

    assert_non_null(doc);
    assert_string_equal(doc,
        "#cloud-config\n"
        "# Written by cloudgate-admin container-userdata: runs one Docker container.\n"
        "# Needs a template with Docker installed.  runcmd runs on the first boot;\n"
        "# the restart policy brings the container back on later boots.\n"
        "runcmd:\n"
        "  - \"systemctl enable --now docker\"\n"
        "  - \"docker pull nginx\"\n"
        "  - \"docker run -d --restart unless-stopped --name app nginx\"\n");
    free(doc);
}

static void test_golden_full(void **state)
{
    static const char *const ports[] = {"8080:80", "127.0.0.1:8443:443/tcp",
                                        "[::1]:5353:53/udp"};
    static const char *const env[] = {"GREETING=hello world", "EMPTY=", "PATHS=/a:/b"};
    static const char *const cmd[] = {"nginx", "-g", "daemon off;"};
    cg_container_spec s = {
        .image = "registry.example:5000/team/web:1.25-alpine",
        .name = "web_1",
        .restart = "on-failure:5",
        .ports = ports, .n_ports = N(ports),
        .env = env, .n_env = N(env),
        .command = cmd, .n_command = N(cmd),
    };
    cg_error err = {0};
    char *doc = cg_container_userdata(&s, &err);

    assert_non_null(doc);
    assert_string_equal(doc,
        "#cloud-config\n"
        "# Written by cloudgate-admin container-userdata: runs one Docker container.\n"
        "# Needs a template with Docker installed.  runcmd runs on the first boot;\n"
        "# the restart policy brings the container back on later boots.\n"
        "runcmd:\n"
        "  - \"systemctl enable --now docker\"\n"
        "  - \"docker pull registry.example:5000/team/web:1.25-alpine\"\n"
        "  - \"docker run -d --restart on-failure:5 --name web_1 -p 8080:80"
        " -p 127.0.0.1:8443:443/tcp -p '[::1]:5353:53/udp' -e 'GREETING=hello world'"
        " -e EMPTY= -e PATHS=/a:/b registry.example:5000/team/web:1.25-alpine"
        " nginx -g 'daemon off;'\"\n");
    free(doc);
}

/* Quotes, $, backticks, backslashes and non-ASCII: quoted for the shell, then
 * escaped for YAML (the document stays ASCII). */
static void test_golden_nasty(void **state)
{
    static const char *const env[] = {
        "Q=it's \"quoted\" $HOME `id` $(id) \\n; rm -rf / #",
        "U=h\xc3\xa9llo \xf0\x9f\x90\xa7",
    };
    static const char *const cmd[] = {"sh", "-c", "echo '$1' \"$2\" > /dev/null", ""};
    cg_container_spec s = {
        .image = "busybox@sha256:0123456789abcdef",
        .env = env, .n_env = N(env),
        .command = cmd, .n_command = N(cmd),
    };
    cg_error err = {0};
    char *doc = cg_container_userdata(&s, &err);

    assert_non_null(doc);
    assert_string_equal(doc,
        "#cloud-config\n"
        "# Written by cloudgate-admin container-userdata: runs one Docker container.\n"
        "# Needs a template with Docker installed.  runcmd runs on the first boot;\n"
        "# the restart policy brings the container back on later boots.\n"
        "runcmd:\n"
        "  - \"systemctl enable --now docker\"\n"
        "  - \"docker pull busybox@sha256:0123456789abcdef\"\n"
        "  - \"docker run -d --restart unless-stopped --name app"
        " -e 'Q=it'\\\"'\\\"'s \\\"quoted\\\" $HOME `id` $(id) \\\\n; rm -rf / #'"
        " -e 'U=h\\u00E9llo \\U0001F427'"
        " busybox@sha256:0123456789abcdef sh -c"
        " 'echo '\\\"'\\\"'$1'\\\"'\\\"' \\\"$2\\\" > /dev/null' ''\"\n");
    free(doc);
}

static void test_shell_quote(void **state)
{
    static const char *const cases[][2] = {
        {"", "''"},
        {"plain-word_1.2/x:y@z%+=,", "plain-word_1.2/x:y@z%+=,"},
        {"two words", "'two words'"},
        {"it's", "'it'\"'\"'s'"},
        {"'", "''\"'\"''"},
        {"$(x) `y` \\ \"", "'$(x) `y` \\ \"'"},
        {"~root", "'~root'"},
        {"*", "'*'"},
    };
    size_t i;

    for (i = 0; i < N(cases); i++) {
        char *q = cg_shell_quote(cases[i][0]);

        assert_non_null(q);
        assert_string_equal(q, cases[i][1]);
        free(q);
    }
}

/* ---- rejections ------------------------------------------------------------- */

typedef struct bad_case {
    const char *image, *name, *restart, *port, *env, *arg;
    cg_errkind kind;
    const char *says; /* a piece of the message */
} bad_case;

static void test_rejections(void **state)
{
    static const bad_case cases[] = {
        {.image = NULL, .kind = CG_ERR_MISSING, .says = "image is required"},
        {.image = "", .kind = CG_ERR_MISSING, .says = "image is required"},
        {.image = "-v=/:/host", .says = "not a Docker image"},
        {.image = "--privileged", .says = "not a Docker image"},
        {.image = "nginx latest", .says = "not a Docker image"},
        {.image = "nginx;reboot", .says = "not a Docker image"},
        {.image = "$(reboot)", .says = "not a Docker image"},
        {.image = "`reboot`", .says = "not a Docker image"},
        {.image = "a//b", .says = "not a Docker image"},
        {.image = "../x", .says = "not a Docker image"},
        {.image = "x@a@b", .says = "not a Docker image"},
        {.image = "nginx\n", .says = "control character"},
        {.image = "ngi\xc3\xa9nx", .says = "not a Docker image"},
        {.image = "nginx", .name = "-x", .says = "container name"},
        {.image = "nginx", .name = "a/b", .says = "container name"},
        {.image = "nginx", .name = "a", .says = "container name"},
        {.image = "nginx", .name = "a b", .says = "container name"},
        {.image = "nginx", .name = "a\tb", .says = "control character"},
        {.image = "nginx", .restart = "sometimes", .says = "restart policy"},
        {.image = "nginx", .restart = "on-failure:", .says = "restart policy"},
        {.image = "nginx", .restart = "on-failure:x", .says = "restart policy"},
        {.image = "nginx", .restart = "always;reboot", .says = "restart policy"},
        {.image = "nginx", .port = "80", .says = "port mapping"},
        {.image = "nginx", .port = "0:80", .says = "port mapping"},
        {.image = "nginx", .port = "080:80", .says = "port mapping"},
        {.image = "nginx", .port = "70000:80", .says = "port mapping"},
        {.image = "nginx", .port = "80:", .says = "port mapping"},
        {.image = "nginx", .port = ":80", .says = "port mapping"},
        {.image = "nginx", .port = "80:80/xyz", .says = "port mapping"},
        {.image = "nginx", .port = "host:80:80", .says = "port mapping"},
        {.image = "nginx", .port = "1.2.3.4:80:80:80", .says = "port mapping"},
        {.image = "nginx", .port = "[::1:80:80", .says = "port mapping"},
        {.image = "nginx", .port = "80:80 -v /:/h", .says = "port mapping"},
        {.image = "nginx", .env = "NOEQUALS", .says = "KEY=VALUE"},
        {.image = "nginx", .env = "=v", .says = "KEY=VALUE"},
        {.image = "nginx", .env = "1A=v", .says = "KEY=VALUE"},
        {.image = "nginx", .env = "A B=v", .says = "KEY=VALUE"},
        {.image = "nginx", .env = "$(id)=v", .says = "KEY=VALUE"},
        {.image = "nginx", .env = "A=line1\nline2", .says = "control character (0x0a)"},
        {.image = "nginx", .env = "A=cr\r", .says = "control character (0x0d)"},
        {.image = "nginx", .env = "A=tab\t", .says = "control character (0x09)"},
        {.image = "nginx", .env = "A=esc\x1b[2J", .says = "control character (0x1b)"},
        {.image = "nginx", .env = "A=del\x7f", .says = "control character (0x7f)"},
        {.image = "nginx", .env = "A=nel\xc2\x85", .says = "control character (U+0085)"},
        {.image = "nginx", .env = "A=\xff", .says = "not valid UTF-8"},
        {.image = "nginx", .env = "A=\xc0\xaf", .says = "not valid UTF-8"},
        {.image = "nginx", .env = "A=\xed\xa0\x80", .says = "not valid UTF-8"},
        {.image = "nginx", .env = "A=\xe2\x82", .says = "not valid UTF-8"},
        {.image = "nginx", .arg = "echo hi\nreboot", .says = "command argument"},
        {.image = "nginx", .arg = "\xf4\x90\x80\x80", .says = "not valid UTF-8"},
    };
    size_t i;

    for (i = 0; i < N(cases); i++) {
        const bad_case *c = &cases[i];
        cg_container_spec s = {.image = c->image, .name = c->name, .restart = c->restart};
        cg_error err = {0};
        char *doc;

        if (c->port) {
            s.ports = &c->port;
            s.n_ports = 1;
        }
        if (c->env) {
            s.env = &c->env;
            s.n_env = 1;
        }
        if (c->arg) {
            s.command = &c->arg;
            s.n_command = 1;
        }
        doc = cg_container_userdata(&s, &err);
        if (doc)
            fail_msg("case %zu accepted:\n%s", i, doc);
        assert_int_equal(err.kind, c->kind ? c->kind : CG_ERR_INVALID);
        if (!strstr(err.message, c->says))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, c->says);
    }
}

static void test_accepted_shapes(void **state)
{
    static const char *const ok_ports[] = {"1:65535", "65535:1", "0.0.0.0:80:80/sctp",
                                           "[fe80::1]:22:22"};
    static const char *const ok_images[] = {"a", "library/nginx:1", "localhost:5000/x",
                                            "Repo/Tag:V1.0_x-y", "x@sha256:abc"};
    static const char *const ok_restart[] = {"no", "always", "unless-stopped", "on-failure",
                                             "on-failure:10"};
    size_t i;

    for (i = 0; i < N(ok_ports); i++) {
        cg_container_spec s = {.image = "nginx", .ports = &ok_ports[i], .n_ports = 1};
        cg_error err = {0};
        char *doc = cg_container_userdata(&s, &err);

        if (!doc)
            fail_msg("port %s: %s", ok_ports[i], err.message);
        free(doc);
    }
    for (i = 0; i < N(ok_images); i++) {
        cg_container_spec s = {.image = ok_images[i]};
        cg_error err = {0};
        char *doc = cg_container_userdata(&s, &err);

        if (!doc)
            fail_msg("image %s: %s", ok_images[i], err.message);
        free(doc);
    }
    for (i = 0; i < N(ok_restart); i++) {
        cg_container_spec s = {.image = "nginx", .restart = ok_restart[i]};
        cg_error err = {0};
        char *doc = cg_container_userdata(&s, &err);

        if (!doc)
            fail_msg("restart %s: %s", ok_restart[i], err.message);
        free(doc);
    }
}

/* More than EC2's 16 KiB of user-data is refused, not truncated. */
static void test_too_long(void **state)
{
    static char big[2000];
    const char *env[10];
    cg_container_spec s = {.image = "nginx", .env = env, .n_env = N(env)};
    cg_error err = {0};
    size_t i;

    memset(big, 'x', sizeof(big) - 1);
    memcpy(big, "BIG=", 4);
    for (i = 0; i < N(env); i++)
        env[i] = big;
    assert_null(cg_container_userdata(&s, &err));
    assert_int_equal(err.kind, CG_ERR_INVALID);
    assert_non_null(strstr(err.message, "at most 16384"));
}

/* ---- YAML + shell, through Python and real shells ------------------------------ */

/* Loads the document with yaml.safe_load, checks its shape, runs runcmd as
 * cloud-init would (shellify: "#!/bin/sh" + one line per string item) under
 * /bin/sh and /bin/bash with docker/systemctl as argv reporters, in an empty
 * scratch directory that must stay empty; prints one line per command: its
 * words hex-encoded, space separated (both shells must agree).  Exit 77: no
 * python3-yaml. */
static const char checker_py[] =
    "import os, subprocess, sys, tempfile\n"
    "try:\n"
    "    import yaml\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "raw = open(sys.argv[1], 'rb').read()\n"
    "raw.decode('ascii')\n"
    "assert raw.startswith(b'#cloud-config\\n'), raw[:20]\n"
    "d = yaml.safe_load(raw)\n"
    "assert isinstance(d, dict) and list(d) == ['runcmd'], d\n"
    "assert all(isinstance(x, str) for x in d['runcmd']), d\n"
    "rep = '%s() { printf \"%%s\\\\0\" %s \"$@\"; printf \"\\\\001\\\\0\"; }\\n'\n"
    "script = '#!/bin/sh\\n' + rep % ('docker', 'docker') + \\\n"
    "    rep % ('systemctl', 'systemctl') + ''.join(x + '\\n' for x in d['runcmd'])\n"
    "outs = []\n"
    "for sh in ('/bin/sh', '/bin/bash'):\n"
    "    with tempfile.TemporaryDirectory() as tmp:\n"
    "        r = subprocess.run([sh, '-c', script], cwd=tmp, capture_output=True,\n"
    "                           env={'PATH': '/usr/bin:/bin', 'HOME': tmp}, timeout=30)\n"
    "        assert r.returncode == 0 and not r.stderr, (sh, r)\n"
    "        assert os.listdir(tmp) == [], (sh, os.listdir(tmp))\n"
    "        outs.append(r.stdout)\n"
    "assert outs[0] == outs[1], outs\n"
    "cmds, cur = [], []\n"
    "for w in outs[0].split(b'\\0')[:-1]:\n"
    "    if w == b'\\x01':\n"
    "        cmds.append(cur); cur = []\n"
    "    else:\n"
    "        cur.append(w)\n"
    "assert cur == [], cur\n"
    "for c in cmds:\n"
    "    print(' '.join(w.hex() or '-' for w in c))\n";

/* The same encoding in C for the expected words. */
static void hex_words(char *out, size_t outlen, const char *const *words, size_t n)
{
    size_t i, o = 0;
    const unsigned char *p;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i)
            o += (size_t)snprintf(out + o, outlen - o, " ");
        if (!*words[i])
            o += (size_t)snprintf(out + o, outlen - o, "-");
        for (p = (const unsigned char *)words[i]; *p; p++)
            o += (size_t)snprintf(out + o, outlen - o, "%02x", *p);
        assert_true(o < outlen);
    }
}

/* Runs the checker on doc; returns its stdout (malloc'd) or NULL for skip. */
static char *run_checker(const char *doc)
{
    char yml[] = "/tmp/cg-ud-XXXXXX", py[] = "/tmp/cg-udpy-XXXXXX", cmd[128];
    char *out = NULL;
    size_t cap = 0, len = 0;
    FILE *p;
    int fd, st;
    char buf[4096];
    size_t n;

    if (access("/usr/bin/python3", X_OK) != 0)
        return NULL;
    assert_true((fd = mkstemp(yml)) >= 0);
    assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    assert_true((fd = mkstemp(py)) >= 0);
    assert_int_equal(write(fd, checker_py, sizeof(checker_py) - 1),
                     (ssize_t)(sizeof(checker_py) - 1));
    close(fd);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", py, yml);
    assert_non_null(p = popen(cmd, "r"));
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            assert_non_null(out = realloc(out, cap));
        }
        memcpy(out + len, buf, n);
        len += n;
    }
    st = pclose(p);
    unlink(yml);
    unlink(py);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        free(out);
        return NULL;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("checker failed (status %d) on:\n%s", st, doc);
    if (!out)
        out = strdup("");
    else
        out[len] = '\0';
    return out;
}

static void check_words(const char *got_line, const char *const *words, size_t n)
{
    char want[8192];

    hex_words(want, sizeof(want), words, n);
    assert_string_equal(got_line, want);
}

static void test_yaml_and_shell_roundtrip(void **state)
{
    static const char *const ports[] = {"8080:80", "[::1]:53:53/udp"};
    static const char *const env[] = {
        "Q=it's \"quoted\" $HOME ${HOME} `touch backtick` $(touch dollar) \\ \\n \\' ",
        "S=; touch semicolon; # && touch and || true | tee piped > redirected < /dev/null",
        "G=* ? [a-z] ~ ~root {a,b} !! %s %n",
        "Y=- [yaml] {flow: map}, &anchor *alias !!tag : ? | > ' \" # @ `",
        "U=h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x90\xa7 \xef\xbf\xbd",
        "E=",
    };
    static const char *const cmd[] = {"sh", "-c", "echo \"$0\" '$1' > /dev/null", "",
                                      "--rm", "-v=/:/host", "'", "\"", "\\"};
    cg_container_spec s = {
        .image = "docker.io/library/busybox:1.36",
        .name = "nasty.one-2",
        .restart = "always",
        .ports = ports, .n_ports = N(ports),
        .env = env, .n_env = N(env),
        .command = cmd, .n_command = N(cmd),
    };
    const char *w_systemctl[] = {"systemctl", "enable", "--now", "docker"};
    const char *w_pull[] = {"docker", "pull", "docker.io/library/busybox:1.36"};
    const char *w_run[64];
    size_t n = 0, i;
    cg_error err = {0};
    char *doc = cg_container_userdata(&s, &err), *got, *l1, *l2, *l3, *save = NULL;

    assert_non_null(doc);
    if (!(got = run_checker(doc))) {
        free(doc);
        skip(); /* no /usr/bin/python3 with yaml (python3-yaml) */
    }
    w_run[n++] = "docker";
    w_run[n++] = "run";
    w_run[n++] = "-d";
    w_run[n++] = "--restart";
    w_run[n++] = "always";
    w_run[n++] = "--name";
    w_run[n++] = "nasty.one-2";
    for (i = 0; i < N(ports); i++) {
        w_run[n++] = "-p";
        w_run[n++] = ports[i];
    }
    for (i = 0; i < N(env); i++) {
        w_run[n++] = "-e";
        w_run[n++] = env[i];
    }
    w_run[n++] = s.image;
    for (i = 0; i < N(cmd); i++)
        w_run[n++] = cmd[i];

    l1 = strtok_r(got, "\n", &save);
    l2 = strtok_r(NULL, "\n", &save);
    l3 = strtok_r(NULL, "\n", &save);
    assert_non_null(l3);
    assert_null(strtok_r(NULL, "\n", &save));
    check_words(l1, w_systemctl, N(w_systemctl));
    check_words(l2, w_pull, N(w_pull));
    check_words(l3, w_run, n);
    free(got);
    free(doc);
}

/* The goldens above also parse and run as intended. */
static void test_goldens_parse(void **state)
{
    cg_container_spec s = {.image = "nginx"};
    cg_error err = {0};
    char *doc = cg_container_userdata(&s, &err), *got;

    assert_non_null(doc);
    if (!(got = run_checker(doc))) {
        free(doc);
        skip();
    }
    assert_string_equal(got, "73797374656d63746c 656e61626c65 2d2d6e6f77 646f636b6572\n"
                             "646f636b6572 70756c6c 6e67696e78\n"
                             "646f636b6572 72756e 2d64 2d2d72657374617274 756e6c6573732d73746f70706564 "
                             "2d2d6e616d65 617070 6e67696e78\n");
    free(got);
    free(doc);
}

/* ---- the admin command ----------------------------------------------------------- */

static char *slurp_and_unlink(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text;
    long len;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    assert_non_null(text = calloc(1, (size_t)len + 1));
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    unlink(path);
    return text;
}

/* Runs cg_container_userdata_main with stdout and stderr captured. */
static int run_main(char **argv, char **out, char **errout)
{
    char opath[] = "/tmp/cg-udout-XXXXXX", epath[] = "/tmp/cg-uderr-XXXXXX";
    int ofd, efd, saved_out, saved_err, rc, argc = 0;

    while (argv[argc])
        argc++;
    fflush(stdout);
    fflush(stderr);
    assert_true((ofd = mkstemp(opath)) >= 0);
    assert_true((efd = mkstemp(epath)) >= 0);
    assert_true((saved_out = dup(STDOUT_FILENO)) >= 0);
    assert_true((saved_err = dup(STDERR_FILENO)) >= 0);
    assert_true(dup2(ofd, STDOUT_FILENO) >= 0);
    assert_true(dup2(efd, STDERR_FILENO) >= 0);
    rc = cg_container_userdata_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    close(ofd);
    close(efd);
    *out = slurp_and_unlink(opath);
    *errout = slurp_and_unlink(epath);
    return rc;
}

static void test_cli(void **state)
{
    char *a1[] = {"container-userdata", "--image", "nginx:1.25", "--name", "web", "--port",
                  "8080:80", "--port", "8443:443", "--env", "A=b c", "--restart", "always",
                  "--", "nginx", "-g", "daemon off;", NULL};
    /* Without "--": the first non-option starts the command, whose options
     * (--name here) are the container's, not ours. */
    char *a2[] = {"container-userdata", "--image", "alpine", "sleep", "--name", "x", NULL};
    char *a3[] = {"container-userdata", "--name", "web", NULL};
    char *a4[] = {"container-userdata", "--image", "nginx", "--env", "A=x\ny", NULL};
    char *a5[] = {"container-userdata", "--image", "nginx", "--bogus", NULL};
    char *a6[] = {"container-userdata", "--help", NULL};
    char *out = NULL, *err = NULL;

    assert_int_equal(run_main(a1, &out, &err), 0);
    assert_true(!strncmp(out, "#cloud-config\n", 14));
    assert_non_null(strstr(out, "  - \"docker run -d --restart always --name web -p 8080:80 "
                                "-p 8443:443 -e 'A=b c' nginx:1.25 nginx -g 'daemon off;'\"\n"));
    assert_string_equal(err, "");
    free(out);
    free(err);
    assert_int_equal(run_main(a2, &out, &err), 0);
    assert_non_null(strstr(out, "--name app alpine sleep --name x\"\n"));
    free(out);
    free(err);
    assert_int_equal(run_main(a3, &out, &err), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "needs --image"));
    free(out);
    free(err);
    assert_int_equal(run_main(a4, &out, &err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "control character (0x0a)"));
    free(out);
    free(err);
    assert_int_equal(run_main(a5, &out, &err), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "usage:"));
    free(out);
    free(err);
    assert_int_equal(run_main(a6, &out, &err), 0);
    assert_non_null(strstr(out, "usage: cloudgate-admin container-userdata"));
    assert_string_equal(err, "");
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_minimal),
        cmocka_unit_test(test_golden_full),
        cmocka_unit_test(test_golden_nasty),
        cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_accepted_shapes),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_yaml_and_shell_roundtrip),
        cmocka_unit_test(test_goldens_parse),
        cmocka_unit_test(test_cli),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

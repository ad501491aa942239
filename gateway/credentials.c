/* cloudgate: the access-key file (see auth.h): "KEY_ID SECRET" lines, and
 * HTTP Basic (CIMI) checked against them. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define CREDS_FILE_MAX (1024 * 1024)
#define KEY_ID_MAX 127 /* fits the callers' char key_id[128] with its NUL */
#define SECRET_MAX 1024

/* Read the whole file into a malloc'd, NUL-terminated buffer, unbuffered so
 * that stdio keeps no copy of the secrets. */
static char *read_file(const char *path, size_t *size, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char *data = NULL;
    struct stat st;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IONBF, 0);
    /* The secrets sign every request: like ssh with a private key, refuse
     * a file any other user could read or replace. */
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0007)) {
        snprintf(err, errlen, "%s: readable or writable by other users (mode %04o): chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        fclose(f);
        return NULL;
    }
    if (!(data = malloc(CREDS_FILE_MAX + 1))) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else if ((*size = fread(data, 1, CREDS_FILE_MAX + 1, f)) > CREDS_FILE_MAX || ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, ferror(f) ? strerror(errno) : "file too large");
        OPENSSL_cleanse(data, *size);
        free(data);
        data = NULL;
    } else {
        data[*size] = '\0';
    }
    fclose(f);
    return data;
}

static int key_id_ok(const char *s, size_t n)
{
    /* No '/' (SigV4 scope separator), no ':' (Basic auth separator). */
    return n > 0 && n <= KEY_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") >= n;
}

int gw_credentials_load(gw_credentials *creds, const char *path, char *errbuf, size_t errlen)
{
    gw_credentials tmp = {0};
    char *data = NULL;
    size_t size = 0, pos = 0, line = 0, i;
    int ret = -1;

    if (!creds || !path) {
        snprintf(errbuf, errlen, "credentials: no file given");
        return -1;
    }
    if (!(data = read_file(path, &size, errbuf, errlen)))
        return -1;
    while (pos < size) {
        char *s = data + pos, *e, *k, *ke, *sec, *nl = memchr(s, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - s) : size - pos;
        gw_credential *v;

        pos += len + 1;
        line++;
        e = s + len;
        *e = '\0';
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            *--e = '\0';
        s += strspn(s, " \t");
        if (s == e || *s == '#')
            continue;
        k = s;
        ke = k + strcspn(k, " \t");
        sec = ke + strspn(ke, " \t");
        for (s = sec; *s > ' ' && *s < 0x7f; s++)
            ;
        /* Never quote the line: it holds a secret. */
        if (sec == e || s != e || (size_t)(e - sec) > SECRET_MAX) {
            snprintf(errbuf, errlen,
                    "%s:%zu: expected \"KEY_ID SECRET\" (one line each, "
                    "printable ASCII, at most %d characters of secret)",
                    path, line, SECRET_MAX);
            goto cleanup;
        }
        *ke = '\0';
        if (!key_id_ok(k, (size_t)(ke - k))) {
            snprintf(errbuf, errlen, "%s:%zu: access key id must be 1-%d of [A-Za-z0-9._-]", path,
                    line, KEY_ID_MAX);
            goto cleanup;
        }
        for (i = 0; i < tmp.n; i++) {
            if (strcmp(tmp.v[i].key_id, k) == 0) {
                snprintf(errbuf, errlen, "%s:%zu: duplicate access key id '%s'", path, line, k);
                goto cleanup;
            }
        }
        if ((v = realloc(tmp.v, (tmp.n + 1) * sizeof(*v)))) {
            tmp.v = v;
            v[tmp.n].key_id = strdup(k);
            v[tmp.n++].secret = strdup(sec);
        }
        if (!v || !v[tmp.n - 1].key_id || !v[tmp.n - 1].secret) {
            snprintf(errbuf, errlen, "%s: out of memory", path);
            goto cleanup;
        }
    }
    *creds = tmp;
    memset(&tmp, 0, sizeof(tmp));
    ret = 0;

cleanup:
    gw_credentials_release(&tmp);
    OPENSSL_cleanse(data, size);
    free(data);
    return ret;
}

const char *gw_credentials_find(const gw_credentials *creds, const char *key_id)
{
    size_t i;

    for (i = 0; creds && key_id && i < creds->n; i++) {
        if (strcmp(creds->v[i].key_id, key_id) == 0)
            return creds->v[i].secret;
    }
    return NULL;
}

void gw_credentials_release(gw_credentials *creds)
{
    size_t i;

    if (!creds)
        return;
    for (i = 0; i < creds->n; i++) {
        free(creds->v[i].key_id);
        if (creds->v[i].secret)
            OPENSSL_cleanse(creds->v[i].secret, strlen(creds->v[i].secret));
        free(creds->v[i].secret);
    }
    free(creds->v);
    creds->v = NULL;
    creds->n = 0;
}

gw_auth_result gw_auth_verify_basic(const gw_request *req, const gw_credentials *creds,
                                    char *key_id, size_t keylen)
{
    const char *auth = gw_request_header(req, "authorization"), *b64, *secret;
    unsigned char *dec = NULL, h1[EVP_MAX_MD_SIZE], h2[EVP_MAX_MD_SIZE];
    unsigned int l1 = 0, l2 = 0;
    gw_auth_result r = GW_AUTH_MALFORMED;
    size_t len = 0;
    int n;
    char *colon;

    if (key_id && keylen)
        key_id[0] = '\0';
    if (!auth)
        return GW_AUTH_MISSING;
    if (strncasecmp(auth, "Basic ", 6) != 0 || !creds)
        return GW_AUTH_MALFORMED;
    b64 = auth + 6 + strspn(auth + 6, " ");
    len = strlen(b64);
    if (len == 0 || len % 4 || len > 4096 || strcspn(b64, "=") < len - 2 ||
        strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len)
        return GW_AUTH_MALFORMED;
    if (!(dec = malloc(len / 4 * 3 + 1)))
        return GW_AUTH_MALFORMED;
    /* EVP_DecodeBlock counts the padding as decoded zero bytes: take it off. */
    n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)len);
    n -= n < 0 ? 0 : (b64[len - 1] == '=') + (b64[len - 2] == '=');
    if (n < 0)
        goto cleanup;
    dec[n] = '\0';
    if (!(colon = memchr(dec, ':', (size_t)n)) || memchr(dec, '\0', (size_t)n))
        goto cleanup;
    *colon = '\0';
    if (!(secret = gw_credentials_find(creds, (char *)dec))) {
        r = GW_AUTH_UNKNOWN_KEY;
        goto cleanup;
    }
    /* Compare digests so neither the content nor the length of the secret
     * shows through timing. */
    if (!EVP_Digest(colon + 1, strlen(colon + 1), h1, &l1, EVP_sha256(), NULL) ||
        !EVP_Digest(secret, strlen(secret), h2, &l2, EVP_sha256(), NULL) || l1 != l2)
        goto cleanup;
    r = CRYPTO_memcmp(h1, h2, l1) == 0 ? GW_AUTH_OK : GW_AUTH_BAD_SIGNATURE;
    /* A truncated id would name another (or no) account: refuse instead. */
    if (r == GW_AUTH_OK && key_id && keylen) {
        if (strlen((char *)dec) >= keylen)
            r = GW_AUTH_MALFORMED;
        else
            memcpy(key_id, dec, strlen((char *)dec) + 1);
    }

cleanup:
    if (dec)
        OPENSSL_cleanse(dec, len / 4 * 3 + 1);
    free(dec);
    OPENSSL_cleanse(h1, sizeof(h1));
    OPENSSL_cleanse(h2, sizeof(h2));
    return r;
}

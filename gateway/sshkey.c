/* cloudgate: SSH keys: generation, OpenSSH formats, EC2 fingerprints. */
#include "sshkey.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ED25519_LEN 32
#define RSA_BITS_NEW 2048
#define RSA_BITS_MIN 1024
#define RSA_BITS_MAX 16384
/* The OpenSSH private key file: a magic, then SSH strings (PROTOCOL.key). */
#define OPENSSH_MAGIC "openssh-key-v1"
#define OPENSSH_WRAP 70

static const char *wire_type(cg_sshkey_type t)
{
    return t == CG_SSHKEY_RSA ? "ssh-rsa" : "ssh-ed25519";
}

/* ---- SSH wire buffers ------------------------------------------------- */

/* A growable byte buffer whose failure (OOM) is sticky, so writers need not
 * check every step. */
typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} wbuf;

static void wb_put(wbuf *b, const void *data, size_t n)
{
    unsigned char *grown;
    size_t cap;

    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        if (!(grown = realloc(b->p, cap))) {
            b->failed = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void wb_u32(wbuf *b, uint32_t v)
{
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v};

    wb_put(b, be, 4);
}

static void wb_string(wbuf *b, const void *data, size_t n)
{
    wb_u32(b, (uint32_t)n);
    wb_put(b, data, n);
}

static void wb_cstring(wbuf *b, const char *s)
{
    wb_string(b, s, strlen(s));
}

/* An mpint (RFC 4251 section 5): big-endian, a zero byte in front when the
 * top bit is set, so the value reads as positive. */
static void wb_mpint(wbuf *b, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *tmp;

    if (b->failed)
        return;
    if (!(tmp = malloc((size_t)n + 1))) {
        b->failed = 1;
        return;
    }
    tmp[0] = 0;
    BN_bn2bin(bn, tmp + 1);
    if (n > 0 && (tmp[1] & 0x80))
        wb_string(b, tmp, (size_t)n + 1);
    else
        wb_string(b, tmp + 1, (size_t)n);
    free(tmp);
}

/* Wipe and free (the buffer may hold private key bytes). */
static void wb_free(wbuf *b)
{
    if (b->p)
        OPENSSL_clear_free(b->p, b->cap);
    memset(b, 0, sizeof(*b));
}

typedef struct rbuf {
    const unsigned char *p;
    size_t left;
} rbuf;

static int rb_string(rbuf *r, const unsigned char **data, size_t *n)
{
    uint32_t len;

    if (r->left < 4)
        return -1;
    len = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    if (len > r->left - 4)
        return -1;
    *data = r->p + 4;
    *n = len;
    r->p += 4 + (size_t)len;
    r->left -= 4 + (size_t)len;
    return 0;
}

/* A positive mpint into a new BIGNUM; NULL when malformed or negative. */
static BIGNUM *rb_mpint(rbuf *r)
{
    const unsigned char *d;
    size_t n;

    if (rb_string(r, &d, &n) < 0 || (n > 0 && (d[0] & 0x80)))
        return NULL;
    /* Leading zero bytes are tolerated, as OpenSSH does. */
    while (n > 0 && d[0] == 0) {
        d++;
        n--;
    }
    if (n > RSA_BITS_MAX / 8 + 1)
        return NULL;
    return BN_bin2bn(d, (int)n, NULL);
}

/* ---- keys --------------------------------------------------------------- */

void cg_sshkey_release(cg_sshkey *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k->blob);
    memset(k, 0, sizeof(*k));
}

const char *cg_sshkey_type_name(const cg_sshkey *k)
{
    return k->type == CG_SSHKEY_RSA ? "rsa" : "ed25519";
}

/* Fill k->blob from k->pkey. 0 or -1. */
static int make_blob(cg_sshkey *k, cg_error *err)
{
    wbuf b = {0};
    BIGNUM *n = NULL, *e = NULL;
    unsigned char pk[ED25519_LEN];
    size_t pklen = sizeof(pk);
    int ret = -1;

    wb_cstring(&b, wire_type(k->type));
    if (k->type == CG_SSHKEY_RSA) {
        if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
            !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
            cg_error_set(err, CG_ERR_INTERNAL, "cannot read the RSA public key");
            goto cleanup;
        }
        /* ssh-rsa puts the exponent first. */
        wb_mpint(&b, e);
        wb_mpint(&b, n);
    } else {
        if (!EVP_PKEY_get_raw_public_key(k->pkey, pk, &pklen) || pklen != ED25519_LEN) {
            cg_error_set(err, CG_ERR_INTERNAL, "cannot read the ED25519 public key");
            goto cleanup;
        }
        wb_string(&b, pk, pklen);
    }
    if (b.failed) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    k->blob = b.p;
    k->blob_len = b.len;
    b.p = NULL;
    ret = 0;

cleanup:
    wb_free(&b);
    BN_free(n);
    BN_free(e);
    return ret;
}

int cg_sshkey_generate(const char *type, cg_sshkey *out, cg_error *err)
{
    memset(out, 0, sizeof(*out));
    if (type && strcmp(type, "rsa") == 0) {
        out->type = CG_SSHKEY_RSA;
        out->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS_NEW);
    } else if (type && strcmp(type, "ed25519") == 0) {
        out->type = CG_SSHKEY_ED25519;
        out->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    } else {
        cg_error_set(err, CG_ERR_INVALID, "unknown key type '%.32s'", type ? type : "");
        return -1;
    }
    if (!out->pkey) {
        cg_error_set(err, CG_ERR_INTERNAL, "%s key generation failed", type);
        return -1;
    }
    if (make_blob(out, err) < 0) {
        cg_sshkey_release(out);
        return -1;
    }
    return 0;
}

/* ---- parsing a public key ---------------------------------------------- */

static EVP_PKEY *rsa_from_blob(rbuf *r, cg_error *err)
{
    BIGNUM *e = NULL, *n = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    int bits;

    if (!(e = rb_mpint(r)) || !(n = rb_mpint(r))) {
        cg_error_set(err, CG_ERR_INVALID, "malformed ssh-rsa key");
        goto cleanup;
    }
    bits = BN_num_bits(n);
    if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX || !BN_is_odd(n)) {
        cg_error_set(err, CG_ERR_INVALID, "unsupported RSA modulus (%d bits)", bits);
        goto cleanup;
    }
    if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_cmp(e, n) >= 0) {
        cg_error_set(err, CG_ERR_INVALID, "invalid RSA public exponent");
        goto cleanup;
    }
    if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot build the RSA public key");
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

cleanup:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(e);
    BN_free(n);
    return pkey;
}

/* Parse and check blob (type expected) into out->pkey. */
static int parse_blob(cg_sshkey *out, cg_error *err)
{
    rbuf r = {out->blob, out->blob_len};
    const unsigned char *t, *pk;
    size_t tlen, pklen;
    const char *want = wire_type(out->type);

    if (rb_string(&r, &t, &tlen) < 0 || tlen != strlen(want) || memcmp(t, want, tlen) != 0) {
        cg_error_set(err, CG_ERR_INVALID, "the key blob is not of type %s", want);
        return -1;
    }
    if (out->type == CG_SSHKEY_RSA) {
        if (!(out->pkey = rsa_from_blob(&r, err)))
            return -1;
    } else {
        if (rb_string(&r, &pk, &pklen) < 0 || pklen != ED25519_LEN) {
            cg_error_set(err, CG_ERR_INVALID, "malformed ssh-ed25519 key");
            return -1;
        }
        if (!(out->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, pklen))) {
            cg_error_set(err, CG_ERR_INTERNAL, "cannot build the ED25519 public key");
            return -1;
        }
    }
    if (r.left != 0) {
        cg_error_set(err, CG_ERR_INVALID, "trailing bytes after the key");
        return -1;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

int cg_sshkey_parse_public(const char *text, size_t len, cg_sshkey *out, cg_error *err)
{
    char *line = NULL, *p, *b64;
    size_t i, b64len;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (len > CG_SSHKEY_LINE_MAX) {
        cg_error_set(err, CG_ERR_INVALID, "public key too long");
        return -1;
    }
    /* One line: whitespace around it and one final newline are fine. */
    while (len > 0 && (is_space(text[len - 1]) || text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    while (len > 0 && is_space(*text)) {
        text++;
        len--;
    }
    for (i = 0; i < len; i++) {
        if (text[i] == '\0' || text[i] == '\n' || text[i] == '\r') {
            cg_error_set(err, CG_ERR_INVALID, "the public key must be one line");
            return -1;
        }
    }
    if (!(line = malloc(len + 1))) {
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
        return -1;
    }
    memcpy(line, text, len);
    line[len] = '\0';

    p = line + strcspn(line, " \t");
    if (*p == '\0') {
        cg_error_set(err, CG_ERR_INVALID, "expected 'TYPE BASE64 [comment]'");
        goto cleanup;
    }
    *p++ = '\0';
    if (strcmp(line, "ssh-rsa") == 0) {
        out->type = CG_SSHKEY_RSA;
    } else if (strcmp(line, "ssh-ed25519") == 0) {
        out->type = CG_SSHKEY_ED25519;
    } else {
        cg_error_set(err, CG_ERR_INVALID, "unsupported key type '%.40s'", line);
        goto cleanup;
    }
    while (is_space(*p))
        p++;
    b64 = p;
    b64len = strcspn(b64, " \t"); /* the rest is a comment */
    if (b64len == 0 || !(out->blob = cg_base64_decode(b64, b64len, &out->blob_len))) {
        cg_error_set(err, CG_ERR_INVALID, "the key is not valid base64");
        goto cleanup;
    }
    ret = parse_blob(out, err);

cleanup:
    if (ret < 0)
        cg_sshkey_release(out);
    free(line);
    return ret;
}

/* ---- output --------------------------------------------------------------- */

char *cg_sshkey_public_line(const cg_sshkey *k, const char *comment)
{
    char *b64 = cg_base64_encode(k->blob, k->blob_len);
    char *line;

    if (!b64)
        return NULL;
    if (comment && *comment)
        line = cg_asprintf("%s %s %s", wire_type(k->type), b64, comment);
    else
        line = cg_asprintf("%s %s", wire_type(k->type), b64);
    free(b64);
    return line;
}

/* Read everything written to a memory BIO into a malloc'd string. */
static char *bio_string(BIO *bio)
{
    char *data, *out;
    long n = BIO_get_mem_data(bio, &data);

    if (n < 0 || !(out = malloc((size_t)n + 1)))
        return NULL;
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

/* PKCS#1 "BEGIN RSA PRIVATE KEY", as EC2 returns RSA keys. */
static char *rsa_pem(const cg_sshkey *k, cg_error *err)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    char *pem = NULL;

    if (!bio || !PEM_write_bio_PrivateKey_traditional(bio, k->pkey, NULL, NULL, 0, NULL, NULL) ||
        !(pem = bio_string(bio)))
        cg_error_set(err, CG_ERR_INTERNAL, "cannot write the RSA private key");
    BIO_free(bio);
    return pem;
}

/* base64 in lines of OPENSSH_WRAP between the OpenSSH armour lines. */
static char *openssh_armour(const unsigned char *data, size_t len)
{
    static const char head[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
    static const char tail[] = "-----END OPENSSH PRIVATE KEY-----\n";
    char *b64 = cg_base64_encode(data, len), *out, *o;
    size_t n, i, chunk;

    if (!b64)
        return NULL;
    n = strlen(b64);
    out = malloc(sizeof(head) + n + n / OPENSSH_WRAP + 2 + sizeof(tail));
    if (out) {
        o = out;
        memcpy(o, head, sizeof(head) - 1);
        o += sizeof(head) - 1;
        for (i = 0; i < n; i += chunk) {
            chunk = n - i < OPENSSH_WRAP ? n - i : OPENSSH_WRAP;
            memcpy(o, b64 + i, chunk);
            o += chunk;
            *o++ = '\n';
        }
        memcpy(o, tail, sizeof(tail));
    }
    OPENSSL_clear_free(b64, n + 1);
    return out;
}

/* The unencrypted OpenSSH private key format (OpenSSH's PROTOCOL.key):
 * magic, cipher "none", kdf "none", no kdf options, one key: its public
 * blob, then the private section (a repeated check word, the key, the
 * comment) padded to the cipher block size of 8 with bytes 1, 2, 3... */
static char *ed25519_pem(const cg_sshkey *k, const char *comment, cg_error *err)
{
    wbuf priv = {0}, file = {0};
    unsigned char sk[2 * ED25519_LEN], pk[ED25519_LEN];
    size_t sklen = ED25519_LEN, pklen = ED25519_LEN;
    unsigned char pad = 1;
    uint32_t check;
    char *pem = NULL;

    if (!EVP_PKEY_get_raw_private_key(k->pkey, sk, &sklen) ||
        !EVP_PKEY_get_raw_public_key(k->pkey, pk, &pklen) || sklen != ED25519_LEN ||
        pklen != ED25519_LEN || RAND_bytes((unsigned char *)&check, sizeof(check)) != 1) {
        cg_error_set(err, CG_ERR_INTERNAL, "cannot read the ED25519 key");
        goto cleanup;
    }
    /* OpenSSH's private half is the 32-byte seed followed by the public key. */
    memcpy(sk + ED25519_LEN, pk, ED25519_LEN);
    wb_u32(&priv, check);
    wb_u32(&priv, check);
    wb_cstring(&priv, "ssh-ed25519");
    wb_string(&priv, pk, sizeof(pk));
    wb_string(&priv, sk, sizeof(sk));
    wb_cstring(&priv, comment ? comment : "");
    while (!priv.failed && priv.len % 8) {
        wb_put(&priv, &pad, 1);
        pad++;
    }

    wb_put(&file, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)); /* with its NUL */
    wb_cstring(&file, "none");
    wb_cstring(&file, "none");
    wb_string(&file, "", 0);
    wb_u32(&file, 1);
    wb_string(&file, k->blob, k->blob_len);
    wb_string(&file, priv.p, priv.len);
    if (priv.failed || file.failed || !(pem = openssh_armour(file.p, file.len)))
        cg_error_set(err, CG_ERR_INTERNAL, "out of memory");

cleanup:
    OPENSSL_cleanse(sk, sizeof(sk));
    wb_free(&priv);
    wb_free(&file);
    return pem;
}

char *cg_sshkey_private_pem(const cg_sshkey *k, const char *comment, cg_error *err)
{
    if (!k->pkey || EVP_PKEY_get_id(k->pkey) == EVP_PKEY_NONE) {
        cg_error_set(err, CG_ERR_INTERNAL, "no key");
        return NULL;
    }
    if (k->type == CG_SSHKEY_RSA)
        return rsa_pem(k, err);
    return ed25519_pem(k, comment, err);
}

/* ---- fingerprints ------------------------------------------------------- */

static int hex_colons(const unsigned char *md, unsigned n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned i;

    if (outlen < (size_t)n * 3)
        return -1;
    for (i = 0; i < n; i++) {
        out[i * 3] = hex[md[i] >> 4];
        out[i * 3 + 1] = hex[md[i] & 0xf];
        out[i * 3 + 2] = i + 1 < n ? ':' : '\0';
    }
    return 0;
}

int cg_sshkey_fingerprint(const cg_sshkey *k, int created, char *out, size_t outlen, cg_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
    unsigned mdlen = 0;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    char *b64 = NULL;
    int derlen = -1, ret = -1;

    if (k->type == CG_SSHKEY_ED25519) {
        /* EC2 keeps the '=' padding of the 32-byte digest (44 characters). */
        if (!EVP_Digest(k->blob, k->blob_len, md, &mdlen, EVP_sha256(), NULL) ||
            !(b64 = cg_base64_encode(md, mdlen)) || strlen(b64) >= outlen)
            goto cleanup;
        memcpy(out, b64, strlen(b64) + 1);
        ret = 0;
        goto cleanup;
    }
    if (created) {
        /* The private key as PKCS#8 PrivateKeyInfo, what "openssl pkcs8
         * -topk8 -nocrypt -outform DER" writes. */
        if (!(p8 = EVP_PKEY2PKCS8(k->pkey)) || (derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0 ||
            !EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha1(), NULL))
            goto cleanup;
    } else {
        /* SubjectPublicKeyInfo, what "openssl rsa -pubout -outform DER" writes. */
        if ((derlen = i2d_PUBKEY(k->pkey, &der)) <= 0 ||
            !EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_md5(), NULL))
            goto cleanup;
    }
    ret = hex_colons(md, mdlen, out, outlen);

cleanup:
    if (ret < 0)
        cg_error_set(err, CG_ERR_INTERNAL, "cannot compute the key fingerprint");
    if (der)
        OPENSSL_clear_free(der, derlen > 0 ? (size_t)derlen : 0);
    PKCS8_PRIV_KEY_INFO_free(p8);
    free(b64);
    return ret;
}

/* cloudgate: SSH keys for the key-pair store: generation (OpenSSL), the
 * OpenSSH public key line and wire format (RFC 4253 section 6.6, RFC 8709),
 * private keys in the PEM formats AWS hands out, and fingerprints computed
 * the way EC2 computes them.
 */
#ifndef CG_SSHKEY_H
#define CG_SSHKEY_H

#include <openssl/evp.h>
#include <stddef.h>

#include "error.h"

typedef enum { CG_SSHKEY_RSA, CG_SSHKEY_ED25519 } cg_sshkey_type;

typedef struct cg_sshkey {
    cg_sshkey_type type;
    EVP_PKEY *pkey;      /* the key pair when generated, the public half when parsed */
    unsigned char *blob; /* the public key in SSH wire format */
    size_t blob_len;
} cg_sshkey;

/* Longest authorized_keys line cg_sshkey_parse_public() accepts. */
#define CG_SSHKEY_LINE_MAX 16384

/* Generate a key of type "rsa" (2048 bits) or "ed25519" into out.
 * Another type: CG_ERR_INVALID.  0 or -1. */
int cg_sshkey_generate(const char *type, cg_sshkey *out, cg_error *err);

/* Parse one OpenSSH public key line, "ssh-rsa AAAA... [comment]" or
 * "ssh-ed25519 AAAA... [comment]" (len bytes, need not be NUL-terminated;
 * surrounding whitespace and one trailing newline allowed).  The blob is
 * decoded and checked: its type must match the line's, RSA moduli must be
 * 1024..16384 bits with an odd exponent >= 3, ED25519 keys 32 bytes, nothing
 * may follow.  Anything else: CG_ERR_INVALID.  0 or -1. */
int cg_sshkey_parse_public(const char *text, size_t len, cg_sshkey *out, cg_error *err);

/* "rsa" or "ed25519", as EC2's KeyType. */
const char *cg_sshkey_type_name(const cg_sshkey *k);

/* The authorized_keys line "ssh-TYPE BASE64 comment" (comment may be NULL
 * or ""); malloc'd, NULL on OOM. */
char *cg_sshkey_public_line(const cg_sshkey *k, const char *comment);

/* The private key as AWS returns it: RSA as PKCS#1 PEM ("BEGIN RSA PRIVATE
 * KEY"), ED25519 in the OpenSSH format ("BEGIN OPENSSH PRIVATE KEY",
 * unencrypted, with comment).  Only for generated keys.  malloc'd; NULL and
 * err on failure. */
char *cg_sshkey_private_pem(const cg_sshkey *k, const char *comment, cg_error *err);

/* EC2's fingerprint into out (>= 64 bytes):
 *   RSA made by CreateKeyPair (created=1): SHA-1 of the PKCS#8 DER private
 *     key, lowercase hex with colons;
 *   RSA imported (created=0): MD5 of the DER SubjectPublicKeyInfo, same form;
 *   ED25519 (either): base64 of the SHA-256 of the wire blob, padded with
 *     '=' as EC2 does (ssh-keygen shows it unpadded after "SHA256:").
 * 0 or -1. */
int cg_sshkey_fingerprint(const cg_sshkey *k, int created, char *out, size_t outlen, cg_error *err);

/* Free the contents (accepts NULL and a zeroed key). */
void cg_sshkey_release(cg_sshkey *k);

#endif

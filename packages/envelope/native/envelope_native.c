/*
 * The envelope's hot path in one N-API call per seal/open, on the OpenSSL that Node itself links
 * (its libcrypto symbols resolve against the node binary at load time; nothing else is linked).
 *
 * Why it exists: through node:crypto every HMAC and every cipher object re-fetches its OpenSSL
 * algorithm and crosses the JS/C++ boundary several times, so one HKDF (three HMACs) cost more
 * than the AES-GCM it keys. Here the algorithms are fetched once per JS realm, the cipher writes
 * straight into the caller's buffer, and a 1 KiB open costs less than a bare createDecipheriv.
 *
 * No cryptography is implemented here: HMAC-SHA-256 (EVP_MAC) and AES-256-GCM (EVP_CIPHER) are
 * OpenSSL's; this file only composes HKDF (RFC 5869, L = 64) from HMAC exactly as src/hkdf.ts
 * does, and every output is cross-checked against node:crypto in the package's tests.
 * Key material lives on the stack or in OpenSSL contexts and is cleansed before returning.
 */
#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BYTES 32
#define IV_BYTES 12
#define TAG_BYTES 16
#define SALT_BYTES 32
#define COMMITMENT_BYTES 32
#define MAX_ARGS 8

/* Per realm (main thread, each worker): fetched algorithms and reusable contexts. */
typedef struct {
  EVP_MAC *mac;
  EVP_MAC_CTX *hmac;
  EVP_CIPHER *gcm;
  EVP_CIPHER_CTX *cipher;
} Realm;

typedef struct {
  uint8_t *p;
  size_t n;
} Bytes;

static const uint8_t ZERO_KEY[KEY_BYTES] = {0};

static void realm_free(napi_env env, void *data, void *hint) {
  Realm *r = data;
  EVP_CIPHER_CTX_free(r->cipher);
  EVP_CIPHER_free(r->gcm);
  EVP_MAC_CTX_free(r->hmac);
  EVP_MAC_free(r->mac);
  free(r);
}

/* Reads exactly `want` Uint8Array arguments into `out`; throws a TypeError otherwise. */
static Realm *args(napi_env env, napi_callback_info info, const char *name, size_t want, Bytes *out) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  Realm *realm = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want ||
      napi_get_instance_data(env, (void **)&realm) != napi_ok || realm == NULL) {
    napi_throw_type_error(env, "ERR_ENVELOPE_NATIVE_ARGS", name);
    return NULL;
  }
  for (size_t i = 0; i < want; i++) {
    bool is = false;
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void *data = NULL;
    napi_value buffer;
    if (napi_is_typedarray(env, argv[i], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[i], &type, &length, &data, &buffer, &offset) != napi_ok ||
        type != napi_uint8_array) {
      napi_throw_type_error(env, "ERR_ENVELOPE_NATIVE_ARGS", name);
      return NULL;
    }
    out[i].p = data; /* N-API has already added the view's byte offset */
    out[i].n = length;
  }
  return realm;
}

static napi_value throw_range(napi_env env, const char *name) {
  napi_throw_range_error(env, "ERR_ENVELOPE_NATIVE_ARGS", name);
  return NULL;
}

static int hmac_sha256(Realm *r, const uint8_t *key, size_t key_len, const Bytes *parts, int count,
                       uint8_t out[32]) {
  size_t out_len = 0;
  if (!EVP_MAC_init(r->hmac, key, key_len, NULL)) return 0;
  for (int i = 0; i < count; i++) {
    if (parts[i].n > 0 && !EVP_MAC_update(r->hmac, parts[i].p, parts[i].n)) return 0;
  }
  return EVP_MAC_final(r->hmac, out, &out_len, 32) && out_len == 32;
}

/* HKDF-SHA-256 with L = 64: key = T(1), commitment = T(2). */
static int hkdf64(Realm *r, const Bytes *ikm, const Bytes *salt, const Bytes *info, uint8_t key[32],
                  uint8_t commitment[32]) {
  static const uint8_t one = 1, two = 2;
  uint8_t prk[32];
  const Bytes extract[1] = {{ikm->p, ikm->n}};
  const Bytes t1[2] = {{info->p, info->n}, {(uint8_t *)&one, 1}};
  const Bytes t2[3] = {{key, 32}, {info->p, info->n}, {(uint8_t *)&two, 1}};
  int ok = hmac_sha256(r, salt->p, salt->n, extract, 1, prk) && hmac_sha256(r, prk, 32, t1, 2, key) &&
           hmac_sha256(r, prk, 32, t2, 3, commitment);
  OPENSSL_cleanse(prk, sizeof prk);
  /* Re-key the reusable HMAC context so that no state derived from the PRK outlives the call. */
  ok = EVP_MAC_init(r->hmac, ZERO_KEY, sizeof ZERO_KEY, NULL) && ok;
  return ok;
}

/* EVP takes int lengths: feed large inputs in chunks. */
static int gcm_update(EVP_CIPHER_CTX *c, int encrypt, uint8_t *out, const uint8_t *in, size_t n) {
  const size_t chunk = (size_t)1 << 30;
  while (n > 0) {
    int take = (int)(n < chunk ? n : chunk), wrote = 0;
    int ok = encrypt ? EVP_EncryptUpdate(c, out, &wrote, in, take) : EVP_DecryptUpdate(c, out, &wrote, in, take);
    if (!ok || wrote != take) return 0;
    out += take;
    in += take;
    n -= take;
  }
  return 1;
}

static int gcm_aad(EVP_CIPHER_CTX *c, const Bytes *aad) {
  int wrote = 0;
  const size_t chunk = (size_t)1 << 30;
  for (size_t at = 0; at < aad->n; at += chunk) {
    size_t take = aad->n - at < chunk ? aad->n - at : chunk;
    if (!EVP_CipherUpdate(c, NULL, &wrote, aad->p + at, (int)take)) return 0;
  }
  return 1;
}

/* AES-256-GCM encrypt into `ct` (same length as `pt`) and `tag` (16 bytes). */
static int gcm_seal(Realm *r, const uint8_t *key, const Bytes *iv, const Bytes *aad, const Bytes *pt, uint8_t *ct,
                    uint8_t *tag) {
  EVP_CIPHER_CTX *c = r->cipher;
  int wrote = 0;
  int ok = EVP_EncryptInit_ex2(c, r->gcm, key, iv->p, NULL) && gcm_aad(c, aad) &&
           gcm_update(c, 1, ct, pt->p, pt->n) && EVP_EncryptFinal_ex(c, ct + pt->n, &wrote) && wrote == 0 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, tag) > 0;
  EVP_CIPHER_CTX_reset(c); /* frees and cleanses the key schedule */
  return ok;
}

/* AES-256-GCM decrypt into `pt`; 1 only if the 16-byte tag verifies, and then `pt` is complete. */
static int gcm_open(Realm *r, const uint8_t *key, const Bytes *iv, const Bytes *aad, const Bytes *ct,
                    const Bytes *tag, uint8_t *pt) {
  EVP_CIPHER_CTX *c = r->cipher;
  int wrote = 0;
  int ok = EVP_DecryptInit_ex2(c, r->gcm, key, iv->p, NULL) &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, tag->p) > 0 && gcm_aad(c, aad) &&
           gcm_update(c, 0, pt, ct->p, ct->n) && EVP_DecryptFinal_ex(c, pt + ct->n, &wrote) > 0 && wrote == 0;
  EVP_CIPHER_CTX_reset(c);
  return ok;
}

static napi_value boolean(napi_env env, int value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

/* hkdf64(ikm, salt, info, out64): out64 = HKDF-SHA-256(ikm, salt, info, L = 64). For tests. */
static napi_value js_hkdf64(napi_env env, napi_callback_info info) {
  Bytes a[4];
  Realm *r = args(env, info, "hkdf64(ikm, salt, info, out64)", 4, a);
  if (r == NULL) return NULL;
  if (a[3].n != 64) return throw_range(env, "hkdf64: out64 must be 64 bytes");
  if (!hkdf64(r, &a[0], &a[1], &a[2], a[3].p, a[3].p + 32)) napi_throw_error(env, "ERR_ENVELOPE_NATIVE", "hkdf64 failed");
  return NULL;
}

/* gcmSeal(key, iv, aad, plaintext, ciphertextOut, tagOut) */
static napi_value js_gcm_seal(napi_env env, napi_callback_info info) {
  Bytes a[6];
  Realm *r = args(env, info, "gcmSeal(key, iv, aad, plaintext, ciphertextOut, tagOut)", 6, a);
  if (r == NULL) return NULL;
  if (a[0].n != KEY_BYTES || a[1].n != IV_BYTES || a[4].n != a[3].n || a[5].n != TAG_BYTES) {
    return throw_range(env, "gcmSeal: key 32, iv 12, ciphertextOut = plaintext, tagOut 16 bytes");
  }
  if (!gcm_seal(r, a[0].p, &a[1], &a[2], &a[3], a[4].p, a[5].p)) napi_throw_error(env, "ERR_ENVELOPE_NATIVE", "gcmSeal failed");
  return NULL;
}

/* gcmOpen(key, iv, aad, ciphertext, tag, plaintextOut) -> boolean; plaintextOut is zeroed on failure */
static napi_value js_gcm_open(napi_env env, napi_callback_info info) {
  Bytes a[6];
  Realm *r = args(env, info, "gcmOpen(key, iv, aad, ciphertext, tag, plaintextOut)", 6, a);
  if (r == NULL) return NULL;
  if (a[0].n != KEY_BYTES || a[1].n != IV_BYTES || a[4].n != TAG_BYTES || a[5].n != a[3].n) {
    return throw_range(env, "gcmOpen: key 32, iv 12, tag 16, plaintextOut = ciphertext bytes");
  }
  int ok = gcm_open(r, a[0].p, &a[1], &a[2], &a[3], &a[4], a[5].p);
  if (!ok && a[5].n > 0) OPENSSL_cleanse(a[5].p, a[5].n);
  return boolean(env, ok);
}

/* sealRecord(tk, salt, info, iv, plaintext, commitmentOut, ciphertextOut, tagOut) */
static napi_value js_seal_record(napi_env env, napi_callback_info info) {
  Bytes a[8];
  Realm *r = args(env, info, "sealRecord(tk, salt, info, iv, plaintext, commitmentOut, ciphertextOut, tagOut)", 8, a);
  if (r == NULL) return NULL;
  if (a[0].n != KEY_BYTES || a[1].n != SALT_BYTES || a[3].n != IV_BYTES || a[5].n != COMMITMENT_BYTES ||
      a[6].n != a[4].n || a[7].n != TAG_BYTES) {
    return throw_range(env, "sealRecord: tk 32, salt 32, iv 12, commitmentOut 32, ciphertextOut = plaintext, tagOut 16 bytes");
  }
  uint8_t key[KEY_BYTES], commitment[COMMITMENT_BYTES];
  int ok = hkdf64(r, &a[0], &a[1], &a[2], key, commitment) &&
           gcm_seal(r, key, &a[3], &a[2], &a[4], a[6].p, a[7].p);
  if (ok) memcpy(a[5].p, commitment, COMMITMENT_BYTES);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(commitment, sizeof commitment);
  if (!ok) napi_throw_error(env, "ERR_ENVELOPE_NATIVE", "sealRecord failed");
  return NULL;
}

/*
 * openRecord(tk, salt, info, iv, commitment, ciphertext, tag, plaintextOut) -> boolean.
 * The commitment is compared in constant time before anything is decrypted; plaintextOut is
 * complete only when true is returned, and zeroed otherwise.
 */
static napi_value js_open_record(napi_env env, napi_callback_info info) {
  Bytes a[8];
  Realm *r = args(env, info, "openRecord(tk, salt, info, iv, commitment, ciphertext, tag, plaintextOut)", 8, a);
  if (r == NULL) return NULL;
  if (a[0].n != KEY_BYTES || a[1].n != SALT_BYTES || a[3].n != IV_BYTES || a[4].n != COMMITMENT_BYTES ||
      a[6].n != TAG_BYTES || a[7].n != a[5].n) {
    return throw_range(env, "openRecord: tk 32, salt 32, iv 12, commitment 32, tag 16, plaintextOut = ciphertext bytes");
  }
  uint8_t key[KEY_BYTES], commitment[COMMITMENT_BYTES];
  int ok = hkdf64(r, &a[0], &a[1], &a[2], key, commitment) &&
           CRYPTO_memcmp(commitment, a[4].p, COMMITMENT_BYTES) == 0 &&
           gcm_open(r, key, &a[3], &a[2], &a[5], &a[6], a[7].p);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(commitment, sizeof commitment);
  if (!ok && a[7].n > 0) OPENSSL_cleanse(a[7].p, a[7].n);
  return boolean(env, ok);
}

NAPI_MODULE_INIT() {
  Realm *r = calloc(1, sizeof *r);
  OSSL_PARAM digest[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                         OSSL_PARAM_construct_end()};
  if (r == NULL || (r->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
      (r->hmac = EVP_MAC_CTX_new(r->mac)) == NULL || !EVP_MAC_init(r->hmac, ZERO_KEY, sizeof ZERO_KEY, digest) ||
      (r->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL || (r->cipher = EVP_CIPHER_CTX_new()) == NULL) {
    if (r != NULL) realm_free(env, r, NULL);
    napi_throw_error(env, "ERR_ENVELOPE_NATIVE", "OpenSSL HMAC-SHA256 / AES-256-GCM unavailable");
    return NULL;
  }
  if (napi_set_instance_data(env, r, realm_free, NULL) != napi_ok) {
    realm_free(env, r, NULL);
    napi_throw_error(env, "ERR_ENVELOPE_NATIVE", "napi_set_instance_data failed");
    return NULL;
  }
  napi_value version;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &version);
  napi_property_descriptor props[] = {
      {"hkdf64", NULL, js_hkdf64, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gcmSeal", NULL, js_gcm_seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gcmOpen", NULL, js_gcm_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sealRecord", NULL, js_seal_record, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openRecord", NULL, js_open_record, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openssl", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

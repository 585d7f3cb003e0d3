/* sign.c: Standard Webhooks signatures, with libsodium's HMAC-SHA256. */
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vigil__webhook_secret_key(const char *secret, unsigned char **key, size_t *len) {
  const char *b64 = !strncmp(secret, "whsec_", 6) ? secret + 6 : NULL;
  size_t n = strlen(b64 ? b64 : secret);
  *key = malloc(n + 1);
  if (!*key) return -1;
  if (!b64) {
    memcpy(*key, secret, n);
    *len = n;
    return 0;
  }
  if (sodium_base642bin(*key, n + 1, b64, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
    free(*key);
    *key = NULL;
    return -1;
  }
  return 0;
}

void vigil__webhook_sign(const unsigned char *key, size_t keylen, const char *id, int64_t timestamp, const char *body,
                         size_t len, char *out, size_t outlen) {
  char prefix[128];
  int n = snprintf(prefix, sizeof prefix, "%s.%lld.", id, (long long)timestamp);
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, key, keylen);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
  crypto_auth_hmacsha256_final(&st, mac);
  char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
  snprintf(out, outlen, "v1,%s", b64);
}

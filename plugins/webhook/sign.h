/* sign.h: Standard Webhooks signatures (www.standardwebhooks.com).
 *
 * A message is signed with HMAC-SHA256 over "id.timestamp.body" and the
 * signature sent as "v1,<base64>" in the webhook-signature header, next to
 * webhook-id and webhook-timestamp, so a receiver can check that the body
 * comes from vigil, unaltered, and recently. */
#ifndef VIGIL_WEBHOOK_SIGN_H
#define VIGIL_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* The key of a secret: the base64 after "whsec_", or the text itself when
 * there is no prefix. 0, or -1 when the base64 is damaged (or out of memory).
 * *key is malloc'd. */
int vigil__webhook_secret_key(const char *secret, unsigned char **key, size_t *len);

/* "v1," followed by base64(HMAC-SHA256(key, id "." timestamp "." body)),
 * into out (at least 64 bytes). */
void vigil__webhook_sign(const unsigned char *key, size_t keylen, const char *id, int64_t timestamp, const char *body,
                         size_t len, char *out, size_t outlen);

#endif

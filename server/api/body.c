/* body.c: a request's JSON body read and its members checked: JSON
 * errors in our words, the limits of free text (docs/http.md, Maximum
 * lengths), identifiers that read as what they are.
 *
 * Calls only answer.c of the API's files, so the routes' files call it
 * without a circle. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api_internal.h"
#include "base/utf8.h"
#include "http/http.h"

/* The members and array elements of a JSON text, at every depth, counted
 * without parsing it: one per comma outside strings, and one more for each
 * object or array that is not empty. Stops counting past max. */
static size_t values_in(const char *text, size_t len, size_t max) {
  size_t n = 0;
  int in_string = 0, opened = 0;
  for (size_t i = 0; i < len && n <= max; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (opened && c != '}' && c != ']') n++;
    opened = c == '{' || c == '[';
    if (c == ',') n++;
    if (c == '"') in_string = 1;
  }
  return n;
}

/* The body as a JSON object ({} when empty); NULL after answering 400, or
 * 422 too_many_members. */
json_t *vigil__api_body_object(http_request *req) {
  size_t len;
  const char *text = vigil__http_request_body(req, &len);
  if (len == 0) return json_object();
  /* AH5: 1 MB of 60,000 members took 157 ms on the loop to parse and check
   * (8 connections pipelining 8 such bodies held /healthz 5.3 s); no request
   * of the API needs more than a few dozen. Counted before the parser builds
   * anything, in one pass over the bytes. */
  if (values_in(text, len, API_BODY_VALUES_MAX) > API_BODY_VALUES_MAX) {
    char msg[160];
    snprintf(msg, sizeof msg, "the body holds more than %d members and array elements", API_BODY_VALUES_MAX);
    json_t *extra = json_pack("{s:i}", "limit", API_BODY_VALUES_MAX);
    vigil__api_reply_free(req, 422, extra ? vigil__http_error_json("too_many_members", msg, NULL, extra) : NULL, NULL);
    json_decref(extra);
    return NULL;
  }
  json_error_t jerr;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!j) {
    /* In our words, not the parser library's (T10: its text named its own flags). */
    enum json_error_code code = json_error_code(&jerr);
    const char *why = code == json_error_null_character           ? "a string holds \\u0000, which is not allowed"
                      : code == json_error_duplicate_key          ? "a member appears twice in one object"
                      : code == json_error_invalid_utf8           ? "the text is not UTF-8"
                      : code == json_error_stack_overflow         ? "arrays and objects are nested too deep"
                      : code == json_error_numeric_overflow       ? "a number is too large"
                      : code == json_error_premature_end_of_input ? "the body ends too soon"
                      : code == json_error_end_of_input_expected  ? "something follows the JSON value"
                      : code == json_error_out_of_memory          ? "out of memory"
                                                                  : "this is not JSON";
    char msg[256];
    snprintf(msg, sizeof msg, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, why);
    vigil__http_respond_error(req, 400, "invalid_json", msg, NULL);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    vigil__http_respond_error(req, 400, "invalid_json", "the body must be a JSON object", NULL);
    return NULL;
  }
  /* Every text of a body has a limit (docs/http.md, Maximum lengths): one
   * not named there, API_TEXT_MAX, whatever its member; a protocol upload's
   * files are the exception (their own limits: api_protocols.c). */
  if (strncmp(vigil__http_request_path(req), "/api/v1/protocols", 17)) {
    for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
      const char *name = json_object_iter_key(it);
      if (vigil__utf8_chars(name, strlen(name)) > API_NAME_MAX) {
        json_decref(j);
        vigil__api_too_long(req, "(a member's name)", API_NAME_MAX);
        return NULL;
      }
      /* A member with a limit of its own is held to it here already (a
       * 900 KB password is "longer than 256", V6). */
      json_t *value = json_object_iter_value(it);
      if (vigil__api_texts_within(req, value, name,
                                  json_is_string(value) ? vigil__api_text_limit(name) : API_TEXT_MAX) < 0) {
        json_decref(j);
        return NULL;
      }
    }
  }
  return j;
}

/* The longest a free-text member may be, in characters (code points);
 * docs/http.md "Maximum lengths" lists the same. A member not named here
 * has API_TEXT_MAX. */
static const struct {
  const char *name;
  size_t max;
} text_limits[] = {
    {"patient", 200}, {"location", 64}, {"reason", 1000}, {"protocol", 200}, {"item", 200},
    {"user", 64},     {"name", 64},     {"role", 32},     {"password", 256}, {"new_password", 256},
};

size_t vigil__api_text_limit(const char *name) {
  for (size_t i = 0; i < sizeof text_limits / sizeof *text_limits; i++)
    if (!strcmp(text_limits[i].name, name)) return text_limits[i].max;
  return API_TEXT_MAX;
}

void vigil__api_too_long(http_request *req, const char *field, size_t max) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s is longer than %zu characters", field, max);
  json_t *extra = json_pack("{s:I}", "limit", (json_int_t)max);
  vigil__api_reply_free(req, 422, extra ? vigil__http_error_json("too_long", msg, field, extra) : NULL, NULL);
  json_decref(extra);
}

int vigil__api_texts_within(http_request *req, json_t *x, const char *field, size_t max) {
  if (json_is_string(x)) {
    if (vigil__utf8_chars(json_string_value(x), json_string_length(x)) <= max) return 0;
    vigil__api_too_long(req, field, max);
    return -1;
  }
  for (void *it = json_object_iter(x); it; it = json_object_iter_next(x, it))
    if (vigil__api_texts_within(req, json_object_iter_value(it), field, max) < 0) return -1;
  for (size_t i = 0; i < json_array_size(x); i++)
    if (vigil__api_texts_within(req, json_array_get(x, i), field, max) < 0) return -1;
  return 0;
}

/* A text shown to staff as an identifier (patient, location: U6, U7) that
 * does not read as what it is: 422 invalid_field naming it; 0 if it reads. */
int vigil__api_shown_id_refused(http_request *req, const char *field, const char *s) {
  const char *problem = vigil__unicode_id_problem(s);
  if (!problem) return 0;
  char msg[160];
  snprintf(msg, sizeof msg, "the %s %s", field, problem);
  vigil__http_respond_error(req, 422, "invalid_field", msg, field);
  return -1;
}

/* 1 when patient begins or ends with white space (K2). */
static int patient_padded(const char *patient) {
  uint32_t first = 0, last = 0;
  for (const unsigned char *c = (const unsigned char *)patient; *c;) {
    size_t n;
    uint32_t cp = vigil__utf8_decode(c, strlen((const char *)c), &n);
    if (!n) return 0;
    if (c == (const unsigned char *)patient) first = cp;
    last = cp;
    c += n;
  }
  return vigil__unicode_space(first) || vigil__unicode_space(last);
}

/* A member that must be a string (or may be absent): 0, or -1 after
 * answering 422 (a string longer than its limit: too_long, with the limit). */
int vigil__api_member_string(http_request *req, json_t *body, const char *name, int required, const char **out) {
  json_t *x = json_object_get(body, name);
  *out = NULL;
  if (!x || json_is_null(x)) {
    if (!required) return 0;
  } else if (json_is_string(x)) {
    if (strlen(json_string_value(x)) == json_string_length(x)) {
      size_t max = vigil__api_text_limit(name);
      if (vigil__utf8_chars(json_string_value(x), json_string_length(x)) > max) {
        vigil__api_too_long(req, name, max);
        return -1;
      }
      /* An identifier shown to staff must read as what it is (T8, U6, U7), a
       * patient without white space around it that would make it another
       * patient (K2). */
      if ((!strcmp(name, "patient") || !strcmp(name, "location")) &&
          vigil__api_shown_id_refused(req, name, json_string_value(x)) < 0)
        return -1;
      if (!strcmp(name, "patient") && patient_padded(json_string_value(x))) {
        vigil__http_respond_error(req, 422, "invalid_field", "the patient may not begin or end with white space", name);
        return -1;
      }
      *out = json_string_value(x);
      return 0;
    }
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be %s", name, required ? "a string" : "a string when given");
  vigil__http_respond_error(req, 422, "invalid_field", msg, name);
  return -1;
}

/* adt.c: an ADT message to a patient record (the fields of a
 * patient.recorded or patient.merged event), and the ACK (adt.h). */
#include "adt.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void refuse(adt_result *r, const char *ack, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void refuse(adt_result *r, const char *ack, int code, const char *where, const char *fmt, ...) {
  if (r->ack[0] && strcmp(r->ack, "AA")) return; /* the first reason stands */
  snprintf(r->ack, sizeof r->ack, "%s", ack);
  r->err_code = code;
  snprintf(r->err_where, sizeof r->err_where, "%s", where ? where : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err_text, sizeof r->err_text, fmt, ap);
  va_end(ap);
}

/* "PID-3" for the error location "PID^1^3". */
static const char *named(const char *where, char out[40]) {
  const char *field = strrchr(where, '^');
  snprintf(out, 40, "%.3s-%s", where, field ? field + 1 : "");
  return out;
}

static int refused(const adt_result *r) { return strcmp(r->ack, "AA") != 0; }

/* What in s staff would not see, or NULL: a control character (C0, DEL,
 * C1: ESC, a line break), a zero-width or direction-changing character
 * (U+200B to U+200F, U+202A to U+202E, U+2060 to U+2069, U+061C, U+FEFF) or
 * a line or paragraph separator, as the patient reference's check
 * (vigil__unicode_id_problem) refuses them (docs/hl7.md A8). */
static const char *hidden(const char *s) {
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c < 0x20 || *c == 0x7f) return "a control character";
    if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) return "a control character (C1)";
    if (c[0] == 0xd8 && c[1] == 0x9c) return "an invisible or direction-changing character (U+061C)";
    if (c[0] == 0xef && c[1] == 0xbb && c[2] == 0xbf) return "an invisible character (U+FEFF)";
    if (c[0] == 0xe2 && c[1] == 0x80 && ((c[2] >= 0x8b && c[2] <= 0x8f) || (c[2] >= 0xa8 && c[2] <= 0xae)))
      return "an invisible, direction-changing or line-separating character (U+200B to U+200F, U+2028 to U+202E)";
    if (c[0] == 0xe2 && c[1] == 0x81 && c[2] >= 0xa0 && c[2] <= 0xaf)
      return "an invisible or direction-changing character (U+2060 to U+206F)";
  }
  return NULL;
}

/* Whether s starts or ends with white space (a space, a tab, NBSP, an
 * ideographic space): a patient reference that looks like another (A7). */
static int padded(const char *s) {
  size_t n = strlen(s);
  if (!n) return 0;
  const unsigned char *u = (const unsigned char *)s;
  if (u[0] == ' ' || u[n - 1] == ' ') return 1;
  if (n >= 2 && ((u[0] == 0xc2 && u[1] == 0xa0) || (u[n - 2] == 0xc2 && u[n - 1] == 0xa0))) return 1;
  if (n >= 3 &&
      ((u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80) || (u[n - 3] == 0xe3 && u[n - 2] == 0x80 && u[n - 1] == 0x80)))
    return 1;
  return 0;
}

/* One value into out (ADT_MAX_VALUE + 1 bytes); refuses the message when it
 * is longer. Returns out. */
static const char *value(adt_result *r, const hl7_msg *m, long seg, int f, int rep, int c, int s, char *out,
                         const char *where) {
  char shown[40];
  out[0] = '\0';
  if (seg < 0) return out;
  size_t n = vigil__hl7_value(m, (size_t)seg, f, rep, c, s, out, ADT_MAX_VALUE + 1);
  if (n > ADT_MAX_VALUE) {
    refuse(r, "AE", 102, where, "%s is longer than %d bytes", named(where, shown), ADT_MAX_VALUE);
    out[0] = '\0';
    return out;
  }
  /* A8: nothing hidden in what staff are shown (security.md U6) */
  const char *why = strlen(out) != n ? "a NUL (\\X00\\)" : hidden(out);
  if (why) {
    refuse(r, "AE", 102, where, "%s contains %s: vigil takes no control or invisible characters", named(where, shown),
           why);
    out[0] = '\0';
  }
  return out;
}

/* Sets key to text unless it is empty; refuses text that is not UTF-8. */
static void put(adt_result *r, json_t *o, const char *key, const char *text, const char *where) {
  if (!text || !*text) return;
  json_t *s = json_string(text);
  if (!s) {
    char shown[40];
    refuse(r, "AE", 102, where, "%s is not UTF-8 text (vigil takes UTF-8 and ASCII, MSH-18)", named(where, shown));
    return;
  }
  json_object_set_new(o, key, s);
}

static int digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* Whether day d of month mo of year y is on the calendar (30 February is not). */
static int day_exists(int y, int mo, int d) {
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1]) return 0;
  return !(mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

/* HL7's DTM (YYYYMMDD[HHMM[SS[.S]]][+ZZZZ]) to the date YYYY-MM-DD; 0 when it is not one. */
static int birth_date(const char *v, char out[11]) {
  size_t n = strlen(v);
  /* H12: a date of birth known to the year or the month (DTM's reduced
   * precision) is kept as such, "1980" or "1980-01" (FHIR's birthDate) */
  if ((n == 4 || n == 6) && digits(v, n)) {
    int y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
    if (y < 1850 || (n == 6 && !day_exists(y, (v[4] - '0') * 10 + (v[5] - '0'), 1))) return 0;
    snprintf(out, 11, n == 4 ? "%.4s" : "%.4s-%.2s", v, v + 4);
    return 1;
  }
  if (n < 8 || !digits(v, 8)) return 0;
  int y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
  int mo = (v[4] - '0') * 10 + (v[5] - '0'), d = (v[6] - '0') * 10 + (v[7] - '0');
  if (y < 1850 || !day_exists(y, mo, d)) return 0;
  for (size_t i = 8; i < n; i++) /* the rest: a time, fractions, a zone */
    if (!((v[i] >= '0' && v[i] <= '9') || v[i] == '.' || v[i] == '+' || v[i] == '-')) return 0;
  snprintf(out, 11, "%.4s-%.2s-%.2s", v, v + 4, v + 6);
  return 1;
}

static const char *const SEXES[] = {"F", "M", "O", "U", "A", "N", NULL};
static const char *const ALLERGEN_TYPES[] = {"DA", "FA", "MA", "MC", "EA", "AA", "PA", "LA", NULL};
static const char *const SEVERITIES[] = {"SV", "MO", "MI", "U", NULL};

static int in_table(const char *v, const char *const *t) {
  for (; *t; t++)
    if (!strcmp(v, *t)) return 1;
  return 0;
}

/* The assigning authority of field f, repetition rep (PID-3, MRG-1): its
 * namespace id (.4.1), or its universal id (.4.2, an OID) when that is
 * empty, so that two authorities named only by OIDs are not one. */
static const char *authority(adt_result *r, const hl7_msg *m, long seg, int f, int rep, char *out, const char *where) {
  value(r, m, seg, f, rep, 4, 1, out, where);
  if (!*out) value(r, m, seg, f, rep, 4, 2, out, where);
  return out;
}

/* Whether an identifier of authority auth may key a patient (H3): any
 * when the clinic named no authority of its own; else one of it, or of
 * none (a feed that leaves PID-3.4 out speaks of the clinic's own). */
static int ours(const char *own_authority, const char *auth) {
  return !own_authority || !*own_authority || !*auth || !strcmp(auth, own_authority);
}

static void identifiers(adt_result *r, const hl7_msg *m, long pid, const char *own_authority, json_t *rec) {
  char v[ADT_MAX_VALUE + 1], auth[ADT_MAX_VALUE + 1], type[ADT_MAX_VALUE + 1];
  char other[ADT_MAX_VALUE + 1] = "", other_auth[ADT_MAX_VALUE + 1] = "";
  json_t *ids = json_array();
  int reps = vigil__hl7_reps(m, (size_t)pid, 3);
  const char *chosen = NULL;
  for (int i = 0; i < reps && !refused(r); i++) {
    value(r, m, pid, 3, i, 1, 0, v, "PID^1^3");
    authority(r, m, pid, 3, i, auth, "PID^1^3");
    value(r, m, pid, 3, i, 5, 0, type, "PID^1^3");
    if (!*v) continue;
    if (padded(v)) {
      refuse(r, "AE", 102, "PID^1^3", "PID-3 (patient identifier) '%s' has white space at its start or end", v);
      break;
    }
    json_t *id = json_object();
    put(r, id, "value", v, "PID^1^3");
    put(r, id, "authority", auth, "PID^1^3");
    put(r, id, "type", type, "PID^1^3");
    json_array_append_new(ids, id);
    if (!ours(own_authority, auth)) {
      if (!*other) snprintf(other, sizeof other, "%s", v), snprintf(other_auth, sizeof other_auth, "%s", auth);
      continue;
    }
    if ((!strcmp(type, "MR") && (!chosen || strcmp(chosen, "MR"))) || !chosen) {
      snprintf(r->patient, sizeof r->patient, "%s", v);
      snprintf(r->authority, sizeof r->authority, "%s", auth);
      chosen = !strcmp(type, "MR") ? "MR" : "first";
    }
  }
  if (!refused(r) && !chosen && *other)
    refuse(r, "AE", 204, "PID^1^3",
           "PID-3 names no identifier of the clinic's own assigning authority '%s' (plugins.hl7.authority), nor one "
           "without an authority: '%s' of '%s' is another registration system's number; not recorded",
           own_authority, other, other_auth);
  if (!refused(r) && !chosen) refuse(r, "AE", 101, "PID^1^3", "PID-3 (patient identifier list) names no identifier");
  if (!refused(r) && !strcmp(chosen, "MR")) put(r, rec, "mrn", r->patient, "PID^1^3");
  put(r, rec, "patient", r->patient, "PID^1^3");
  put(r, rec, "patient_authority", r->authority, "PID^1^3");
  json_object_set_new(rec, "identifiers", ids);
}

static void name_sex_birth(adt_result *r, const hl7_msg *m, long pid, json_t *rec) {
  char v[ADT_MAX_VALUE + 1];
  json_t *name = json_object();
  static const char *const parts[] = {"family", "given", "middle", "suffix", "prefix"};
  for (int c = 0; c < 5; c++)
    put(r, name, parts[c], value(r, m, pid, 5, 0, c + 1, c == 0 ? 1 : 0, v, "PID^1^5"), "PID^1^5");
  if (json_object_size(name))
    json_object_set_new(rec, "name", name);
  else
    json_decref(name);
  value(r, m, pid, 7, 0, 1, 0, v, "PID^1^7");
  if (*v) {
    char date[11];
    if (birth_date(v, date))
      put(r, rec, "birth_date", date, "PID^1^7");
    else
      refuse(r, "AE", 102, "PID^1^7", "PID-7 (date of birth) '%s' is not a date (YYYYMMDD)", v);
  }
  value(r, m, pid, 8, 0, 1, 0, v, "PID^1^8");
  if (*v && !in_table(v, SEXES))
    refuse(r, "AE", 103, "PID^1^8", "PID-8 (administrative sex) '%s' is not in HL7 table 0001 (F, M, O, U, A, N)", v);
  else
    put(r, rec, "sex", v, "PID^1^8");
}

static void allergies(adt_result *r, const hl7_msg *m, json_t *rec) {
  json_t *list = json_array();
  char v[ADT_MAX_VALUE + 1], w2[32], w3[32], w4[32], w5[32];
  for (int k = 0;; k++) {
    long al1 = vigil__hl7_find(m, "AL1", k);
    if (al1 < 0 || refused(r)) break;
    json_t *a = json_object();
    snprintf(w2, sizeof w2, "AL1^%d^2", k + 1);
    snprintf(w3, sizeof w3, "AL1^%d^3", k + 1);
    snprintf(w4, sizeof w4, "AL1^%d^4", k + 1);
    snprintf(w5, sizeof w5, "AL1^%d^5", k + 1);
    value(r, m, al1, 2, 0, 1, 0, v, w2);
    if (*v && !in_table(v, ALLERGEN_TYPES))
      refuse(r, "AE", 103, w2, "AL1-2 (allergen type) '%s' is not in HL7 table 0127", v);
    put(r, a, "type", v, w2);
    put(r, a, "code", value(r, m, al1, 3, 0, 1, 0, v, w3), w3);
    put(r, a, "text", value(r, m, al1, 3, 0, 2, 0, v, w3), w3);
    put(r, a, "system", value(r, m, al1, 3, 0, 3, 0, v, w3), w3);
    if (!json_object_get(a, "code") && !json_object_get(a, "text"))
      refuse(r, "AE", 101, w3, "AL1-3 (allergen) of AL1 %d is empty", k + 1);
    value(r, m, al1, 4, 0, 1, 0, v, w4);
    if (*v && !in_table(v, SEVERITIES))
      refuse(r, "AE", 103, w4, "AL1-4 (severity) '%s' is not in HL7 table 0128 (SV, MO, MI, U)", v);
    put(r, a, "severity", v, w4);
    json_t *reactions = json_array();
    int reps = vigil__hl7_reps(m, (size_t)al1, 5);
    for (int i = 0; i < reps; i++) {
      value(r, m, al1, 5, i, 0, 0, v, w5);
      json_t *s = *v ? json_string(v) : NULL;
      if (*v && !s) refuse(r, "AE", 102, w5, "AL1-5 is not UTF-8 text");
      if (s) json_array_append_new(reactions, s);
    }
    if (json_array_size(reactions))
      json_object_set_new(a, "reactions", reactions);
    else
      json_decref(reactions);
    json_array_append_new(list, a);
  }
  json_object_set_new(rec, "allergies", list);
}

int vigil__hl7_dtm(const char *v, const hl7_zone *zone_of, long long *ms, int *zoned) {
  static const int width[6] = {4, 2, 2, 2, 2, 2}, low[6] = {0, 1, 1, 0, 0, 0}, high[6] = {9999, 12, 31, 23, 59, 59};
  int part[6] = {0, 1, 1, 0, 0, 0}, parts = 0;
  const char *c = v;
  for (; parts < 6 && c[0] >= '0' && c[0] <= '9'; parts++) {
    if (!digits(c, (size_t)width[parts])) return -1;
    int n = 0;
    for (int k = 0; k < width[parts]; k++)
      n = n * 10 + (c[k] - '0');
    if (n < low[parts] || n > high[parts]) return -1;
    part[parts] = n;
    c += width[parts];
  }
  if (parts == 0) return -1;
  if (!day_exists(part[0], part[1], part[2])) return -1;
  long long frac = 0;
  if (*c == '.') {
    if (parts != 6) return -1;
    int n = 0, scale = 100;
    for (c++; *c >= '0' && *c <= '9'; c++, n++, scale /= 10)
      frac += scale > 0 ? (*c - '0') * scale : 0;
    if (n < 1 || n > 4) return -1;
  }
  long long zone = 0;
  *zoned = 0;
  if (*c == '+' || *c == '-') {
    if (strlen(c) != 5 || !digits(c + 1, 4)) return -1;
    int zh = (c[1] - '0') * 10 + (c[2] - '0'), zm = (c[3] - '0') * 10 + (c[4] - '0');
    if (zh > 14 || zm > 59) return -1;
    zone = (*c == '-' ? -1 : 1) * (zh * 60 + zm);
    *zoned = 1;
    c += 5;
  }
  if (*c) return -1;
  long long secs =
      (vigil__hl7_days_from_civil(part[0], part[1], part[2]) * 24 + part[3]) * 3600 + part[4] * 60LL + part[5];
  /* J1: without an offset, the sender's local time: the site's zone's, when one is set */
  if (*zoned)
    secs -= zone * 60;
  else if (zone_of)
    secs = vigil__hl7_zone_utc(zone_of, secs);
  *ms = secs * 1000LL + frac;
  return 0;
}

void vigil__hl7_adt_read(const hl7_msg *m, const char *own_authority, adt_result *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->ack, sizeof r->ack, "AA");
  char type[ADT_MAX_VALUE + 1], event[ADT_MAX_VALUE + 1], version[ADT_MAX_VALUE + 1];
  char app[ADT_MAX_VALUE + 1], fac[ADT_MAX_VALUE + 1], control[ADT_MAX_VALUE + 1], when[ADT_MAX_VALUE + 1];
  value(r, m, 0, 9, 0, 1, 0, type, "MSH^1^9");
  value(r, m, 0, 9, 0, 2, 0, event, "MSH^1^9");
  value(r, m, 0, 12, 0, 1, 0, version, "MSH^1^12");
  value(r, m, 0, 3, 0, 1, 0, app, "MSH^1^3");
  value(r, m, 0, 4, 0, 1, 0, fac, "MSH^1^4");
  value(r, m, 0, 10, 0, 0, 0, control, "MSH^1^10");
  value(r, m, 0, 7, 0, 1, 0, when, "MSH^1^7");
  /* J5: MSH's text is UTF-8 as every value is; found only when the record
   * kept its source, an MSH-10 that was not was AE, where an MSH problem is
   * AR (the message not read) */
  const char *const msh[][2] = {{app, "MSH^1^3"}, {fac, "MSH^1^4"}, {control, "MSH^1^10"}, {when, "MSH^1^7"}};
  for (size_t i = 0; i < sizeof msh / sizeof msh[0]; i++) {
    json_t *text = json_string(msh[i][0]);
    char shown[40];
    if (!text)
      refuse(r, "AR", 102, msh[i][1], "%s is not UTF-8 text (vigil takes UTF-8 and ASCII, MSH-18)",
             named(msh[i][1], shown));
    json_decref(text);
  }
  if (refused(r)) {
    snprintf(r->ack, sizeof r->ack, "AR");
    return;
  }
  if (!*control) refuse(r, "AR", 101, "MSH^1^10", "MSH-10 (message control id) is empty");
  if (strcmp(type, "ADT")) refuse(r, "AR", 200, "MSH^1^9", "message type '%s' is not taken here (ADT only)", type);
  int merge = !strcmp(event, "A40");
  if (strcmp(event, "A01") && strcmp(event, "A04") && strcmp(event, "A08") && !merge)
    refuse(r, "AR", 201, "MSH^1^9", "event '%s' is not taken (A01, A04, A08, A40)", event);
  /* H11: the published v2 versions (HL7 table 0104), not any "2." */
  static const char *const versions[] = {"2.1", "2.2",   "2.3", "2.3.1", "2.4",   "2.5", "2.5.1", "2.6",
                                         "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2", "2.9", NULL};
  size_t vi = 0;
  while (versions[vi] && strcmp(versions[vi], version))
    vi++;
  if (!versions[vi])
    refuse(r, "AR", 203, "MSH^1^12", "version '%s' is not a known HL7 v2 version (MSH-12: 2.1 to 2.9)", version);
  if (refused(r)) return;
  /* H2: the message's time orders a patient's updates (A3): it is required,
   * and one that cannot be read would switch that check off. */
  long long t;
  int zoned;
  if (!*when)
    refuse(r, "AR", 101, "MSH^1^7", "MSH-7 (date/time of message) is empty: vigil orders a patient's updates by it");
  else if (vigil__hl7_dtm(when, NULL, &t, &zoned) < 0)
    refuse(r, "AR", 102, "MSH^1^7", "MSH-7 (date/time of message) '%s' is not a date and time (YYYYMMDDHHMMSS[+ZZZZ])",
           when);
  if (refused(r)) return;
  snprintf(r->key, sizeof r->key, "msg/%s^%s/%s", app, fac, control);
  if (strlen(r->key) > 256) {
    refuse(r, "AR", 102, "MSH^1^10", "MSH-3, MSH-4 and MSH-10 together are longer than 250 bytes");
    return;
  }
  long pid = vigil__hl7_find(m, "PID", 0);
  if (pid < 0) {
    refuse(r, "AE", 100, "PID", "no PID segment (patient identification)");
    return;
  }
  json_t *rec = json_object();
  identifiers(r, m, pid, own_authority, rec);
  name_sex_birth(r, m, pid, rec);
  /* Q6, S4 (docs/safety.md): many feeds send an ADT (A08, A04, A01) without
   * AL1 segments; such a message says nothing about allergies (the host keeps
   * the recorded ones), where one with AL1 segments is the whole list. */
  if (!merge && vigil__hl7_find(m, "AL1", 0) >= 0) allergies(r, m, rec);
  if (merge && !refused(r)) {
    char from[ADT_MAX_VALUE + 1];
    long mrg = vigil__hl7_find(m, "MRG", 0);
    value(r, m, mrg, 1, 0, 1, 0, from, "MRG^1^1");
    authority(r, m, mrg, 1, 0, r->merged_authority, "MRG^1^1");
    if (mrg < 0)
      refuse(r, "AE", 100, "MRG", "A40 without an MRG segment (the patient merged)");
    else if (vigil__hl7_find(m, "MRG", 1) >= 0 || vigil__hl7_find(m, "PID", 1) >= 0)
      /* H9: one merge a message; AA with the first applied lost the others */
      refuse(r, "AE", 100, "MRG^2",
             "A40 with more than one PID/MRG group: vigil applies one merge a message; none applied, send each "
             "merge as its own A40");
    else if (mrg < pid)
      /* J5: ADT_A39's group is PID then MRG; an MRG before the PID was AA,
       * read as if in order, from a message whose structure is not the
       * sender's promise of which patient survives */
      refuse(r, "AE", 100, "MRG^1",
             "A40 with MRG before PID: an ADT_A39 group is PID, then MRG (segment sequence); not merged");
    else if (!*from)
      refuse(r, "AE", 101, "MRG^1^1", "MRG-1 (prior patient identifier list) is empty");
    else if (padded(from))
      refuse(r, "AE", 102, "MRG^1^1", "MRG-1 (prior patient identifier) '%s' has white space at its start or end",
             from);
    else if (!ours(own_authority, r->merged_authority))
      refuse(r, "AE", 204, "MRG^1^1",
             "MRG-1 (prior patient) '%s' is of the assigning authority '%s', not the clinic's own '%s' "
             "(plugins.hl7.authority): another registration system's number; not merged",
             from, r->merged_authority, own_authority);
    else if (!strcmp(from, r->patient))
      refuse(r, "AE", 102, "MRG^1^1", "MRG-1 names the surviving patient %s itself", from);
    else
      put(r, rec, "merged_from", from, "MRG^1^1");
  }
  json_t *source = json_object();
  char sender[2 * ADT_MAX_VALUE + 2], msgtype[2 * ADT_MAX_VALUE + 2];
  snprintf(sender, sizeof sender, "%s^%s", app, fac);
  snprintf(msgtype, sizeof msgtype, "%s^%s", type, event);
  put(r, source, "sender", sender, "MSH^1^3");
  put(r, source, "control_id", control, "MSH^1^10");
  put(r, source, "message", msgtype, "MSH^1^9");
  put(r, source, "message_time", when, "MSH^1^7");
  json_object_set_new(rec, "source", source);
  if (!refused(r)) {
    r->type = merge ? "patient.merged" : "patient.recorded";
    r->fields_json = json_dumps(rec, JSON_COMPACT);
    if (!r->fields_json) refuse(r, "AE", 207, NULL, "out of memory");
  }
  json_decref(rec);
}

void vigil__hl7_adt_free(adt_result *r) {
  free(r->fields_json);
  r->fields_json = NULL;
}

/* The message's MSH-10 when it could not be parsed, for MSA-2: the first
 * line cut at its fourth byte, as sent. */
hl7_msg *vigil__hl7_lenient_msh(const char *data, size_t len, hl7_msg *m) {
  char err[8];
  size_t n = 0;
  while (n < len && data[n] != '\r' && data[n] != '\n')
    n++;
  if (n < 9 || memcmp(data, "MSH", 3)) return NULL;
  /* a copy with the standard encoding characters, to reach MSH-10 */
  char *line = malloc(n + 1);
  if (!line) return NULL;
  memcpy(line, data, n);
  line[n] = '\0';
  char *p = line + 4;
  char sep = line[3];
  if (sep == '\0' || strchr("^~\\&\r\n", sep)) {
    free(line);
    return NULL;
  }
  char *q = strchr(p, sep);
  if (!q) {
    free(line);
    return NULL;
  }
  /* MSH|^~\&|... with the message's own field separator kept */
  size_t rest = strlen(q);
  char *fixed = malloc(8 + rest + 1);
  if (!fixed) {
    free(line);
    return NULL;
  }
  memcpy(fixed, "MSH", 3);
  fixed[3] = sep;
  memcpy(fixed + 4, "^~\\&", 4);
  memcpy(fixed + 8, q, rest + 1);
  for (char *s = fixed + 8; *s; s++) /* nothing but fields: the rest is as sent */
    if (strchr("^~\\&", *s)) *s = '_';
  int rc = vigil__hl7_parse(m, fixed, strlen(fixed), err, sizeof err);
  free(fixed);
  free(line);
  return rc == 0 ? m : NULL;
}

static const char *error_name(int code) {
  switch (code) {
  case 100:
    return "Segment sequence error";
  case 101:
    return "Required field missing";
  case 102:
    return "Data type error";
  case 103:
    return "Table value not found";
  case 200:
    return "Unsupported message type";
  case 201:
    return "Unsupported event code";
  case 202:
    return "Unsupported processing id";
  case 203:
    return "Unsupported version id";
  case 204:
    return "Unknown key identifier";
  default:
    return "Application internal error";
  }
}

char *vigil__hl7_ack(const hl7_msg *in, const char *code, int err_code, const char *where, const char *text,
                     const char *app, const char *facility, const char *control_id, const char *now, size_t *len) {
  char v[ADT_MAX_VALUE + 1];
  hl7_out o;
  vigil__hl7_out_init(&o, NULL);
  vigil__hl7_out_raw(&o, "MSH|^~\\&", 8);
  vigil__hl7_out_field(&o, app);
  vigil__hl7_out_field(&o, facility);
  /* the receiver of the ACK: the message's sender */
  vigil__hl7_out_field(&o, in ? (vigil__hl7_value(in, 0, 3, 0, 1, 0, v, sizeof v), v) : "");
  vigil__hl7_out_field(&o, in ? (vigil__hl7_value(in, 0, 4, 0, 1, 0, v, sizeof v), v) : "");
  vigil__hl7_out_field(&o, now);
  vigil__hl7_out_field(&o, "");
  vigil__hl7_out_raw(&o, "|ACK^", 5);
  if (in) vigil__hl7_value(in, 0, 9, 0, 2, 0, v, sizeof v);
  vigil__hl7_out_text(&o, in ? v : "");
  vigil__hl7_out_raw(&o, "^ACK", 4);
  vigil__hl7_out_field(&o, control_id);
  if (in) vigil__hl7_value(in, 0, 11, 0, 1, 0, v, sizeof v);
  vigil__hl7_out_field(&o, in && *v ? v : "P");
  if (in) vigil__hl7_value(in, 0, 12, 0, 1, 0, v, sizeof v);
  vigil__hl7_out_field(&o, in && !strncmp(v, "2.", 2) ? v : "2.5.1");
  vigil__hl7_out_end(&o);
  vigil__hl7_out_raw(&o, "MSA", 3);
  vigil__hl7_out_field(&o, code);
  if (in) vigil__hl7_value(in, 0, 10, 0, 0, 0, v, sizeof v);
  vigil__hl7_out_field(&o, in ? v : "");
  vigil__hl7_out_field(&o, text ? text : "");
  vigil__hl7_out_end(&o);
  if (err_code) {
    /* ERR-2 location (segment^sequence^field, as built here), ERR-3 the
     * code of table 0357, ERR-4 severity E, ERR-8 the sentence */
    vigil__hl7_out_raw(&o, "ERR||", 5);
    vigil__hl7_out_raw(&o, where ? where : "", where ? strlen(where) : 0);
    char c[16];
    snprintf(c, sizeof c, "%d", err_code);
    vigil__hl7_out_field(&o, c);
    vigil__hl7_out_raw(&o, "^", 1);
    vigil__hl7_out_text(&o, error_name(err_code));
    vigil__hl7_out_raw(&o, "^HL70357|E||||", 14);
    vigil__hl7_out_text(&o, text ? text : "");
    vigil__hl7_out_end(&o);
  }
  if (o.failed) {
    vigil__hl7_out_free(&o);
    return NULL;
  }
  *len = o.n;
  return o.p;
}

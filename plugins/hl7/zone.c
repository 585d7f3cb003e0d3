/* zone.c: a TZif file's transitions, and past its last one the POSIX TZ
 * rule of its footer (RFC 8536 section 3.3: "AEST-10AEDT,M10.1.0,M4.1.0/3"),
 * which is how the tz database says what the clocks do after the years it
 * lists. Version 1 files (32-bit times, no footer) are read as they are. */
#include "zone.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONEINFO "/usr/share/zoneinfo/"
#define MAX_FILE (1 << 20)

/* A day a POSIX rule changes the clocks on, and the local time it does. */
typedef struct rule_day {
  char kind; /* 'M' month.week.day, 'J' Julian 1-365 without Feb 29, 'N' 0-365 with it */
  int month, week, wday, day;
  long secs; /* local time of the change, seconds after that day's midnight (may be < 0 or > 24 h) */
} rule_day;

struct hl7_zone {
  char name[256];
  size_t n;
  long long *at;  /* UTC seconds of each transition, ascending */
  long *off;      /* the offset from at[i] on */
  long off_first; /* before the first transition: time type 0 */
  int has_rule;   /* a footer: past the last transition it decides */
  long std_off, dst_off;
  int has_dst;
  rule_day start, end; /* of daylight time, in standard and daylight local time */
};

long long vigil__hl7_days_from_civil(int year, int month, int day) {
  /* Howard Hinnant's algorithm */
  int y = year - (month <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (unsigned)((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1);
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (long long)era * 146097 + (long long)doe - 719468;
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static long long floor_div(long long a, long long b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static int year_of(long long secs) {
  long long days = floor_div(secs, 86400);
  /* civil from days (Hinnant), the year only */
  long long z = days + 719468;
  long long era = floor_div(z, 146097);
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  return (int)(yoe + era * 400 + (mp >= 10));
}

/* ---- the POSIX TZ rule ------------------------------------------------------------------------- */

static const char *rule_name(const char *s) {
  if (*s == '<') {
    const char *e = strchr(s, '>');
    return e && e > s + 1 ? e + 1 : NULL;
  }
  const char *b = s;
  while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
    s++;
  return s - b >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]] as seconds; hours up to 167 (RFC 8536's extension). */
static const char *rule_time(const char *s, long *secs) {
  int sign = 1;
  if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
  long part[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++) {
    if (i && *s != ':') break;
    if (i) s++;
    if (*s < '0' || *s > '9') return NULL;
    long v = 0;
    for (int k = 0; *s >= '0' && *s <= '9' && k < 3; k++)
      v = v * 10 + (*s++ - '0');
    if (v > (i ? 59 : 167)) return NULL;
    part[i] = v;
  }
  *secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
  return s;
}

static const char *rule_number(const char *s, int *v, int lo, int hi) {
  if (*s < '0' || *s > '9') return NULL;
  int n = 0;
  for (int k = 0; *s >= '0' && *s <= '9' && k < 3; k++)
    n = n * 10 + (*s++ - '0');
  if (n < lo || n > hi) return NULL;
  *v = n;
  return s;
}

static const char *rule_date(const char *s, rule_day *d) {
  memset(d, 0, sizeof *d);
  d->secs = 7200;
  if (*s == 'M') {
    d->kind = 'M';
    if (!(s = rule_number(s + 1, &d->month, 1, 12)) || *s != '.' || !(s = rule_number(s + 1, &d->week, 1, 5)) ||
        *s != '.' || !(s = rule_number(s + 1, &d->wday, 0, 6)))
      return NULL;
  } else if (*s == 'J') {
    d->kind = 'J';
    if (!(s = rule_number(s + 1, &d->day, 1, 365))) return NULL;
  } else {
    d->kind = 'N';
    if (!(s = rule_number(s, &d->day, 0, 365))) return NULL;
  }
  if (*s == '/' && !(s = rule_time(s + 1, &d->secs))) return NULL;
  return s;
}

/* The footer's rule ("" for none: then the last transition's offset holds). */
static int rule_read(hl7_zone *z, const char *s) {
  if (!*s) return 0;
  long std;
  if (!(s = rule_name(s)) || !(s = rule_time(s, &std))) return -1;
  z->has_rule = 1;
  z->std_off = z->dst_off = -std; /* POSIX counts west of Greenwich */
  if (!*s) return 0;
  if (!(s = rule_name(s))) return -1;
  z->has_dst = 1;
  z->dst_off = z->std_off + 3600;
  long dst;
  if (*s && *s != ',') {
    if (!(s = rule_time(s, &dst))) return -1;
    z->dst_off = -dst;
  }
  if (*s != ',' || !(s = rule_date(s + 1, &z->start)) || *s != ',' || !(s = rule_date(s + 1, &z->end)) || *s) return -1;
  return 0;
}

/* The change's local time in year y, seconds since the epoch as if local were UTC. */
static long long rule_local(const rule_day *d, int y) {
  long long day;
  if (d->kind == 'J')
    day = vigil__hl7_days_from_civil(y, 1, 1) + d->day - 1 + (leap(y) && d->day >= 60);
  else if (d->kind == 'N')
    day = vigil__hl7_days_from_civil(y, 1, 1) + d->day;
  else {
    long long first = vigil__hl7_days_from_civil(y, d->month, 1);
    int first_wday = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int len = mdays[d->month - 1] + (d->month == 2 && leap(y));
    int mday = 1 + (d->wday - first_wday + 7) % 7 + (d->week - 1) * 7;
    while (mday > len)
      mday -= 7;
    day = first + mday - 1;
  }
  return day * 86400 + d->secs;
}

static long rule_offset(const hl7_zone *z, long long utc) {
  if (!z->has_dst) return z->std_off;
  int y = year_of(utc + z->std_off);
  /* the changes of y, as UTC: into daylight time from standard, out of it from daylight */
  long long in = rule_local(&z->start, y) - z->std_off, out = rule_local(&z->end, y) - z->dst_off;
  int dst = in < out ? utc >= in && utc < out : !(utc >= out && utc < in);
  return dst ? z->dst_off : z->std_off;
}

/* ---- the file ---------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

static int fail(char *err, size_t errlen, const char *fmt, const char *name) {
  snprintf(err, errlen, fmt, name);
  return -1;
}

static int valid_name(const char *name) {
  if (!*name || *name == '/' || strstr(name, "..") || strlen(name) > 200) return 0;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("/_+-", *c)))
      return 0;
  return 1;
}

/* Reads the data block after the header at p (time_size 4 or 8) into z. */
static int read_block(hl7_zone *z, const unsigned char *p, const unsigned char *end, int time_size,
                      const unsigned char **after) {
  uint32_t isut = be32(p + 20), isstd = be32(p + 24), leaps = be32(p + 28), times = be32(p + 32), types = be32(p + 36),
           chars = be32(p + 40);
  p += 44;
  size_t need = (size_t)times * (size_t)time_size + times + (size_t)types * 6 + chars +
                (size_t)leaps * (size_t)(time_size + 4) + isstd + isut;
  if (types == 0 || (size_t)(end - p) < need) return -1;
  if (leaps) return -2;
  const unsigned char *idx = p + (size_t)times * (size_t)time_size, *tt = idx + times;
  z->at = malloc(sizeof *z->at * (times ? times : 1));
  z->off = malloc(sizeof *z->off * (times ? times : 1));
  if (!z->at || !z->off) return -1;
  for (uint32_t i = 0; i < times; i++) {
    z->at[i] = time_size == 8 ? be64(p + (size_t)i * 8) : (int32_t)be32(p + (size_t)i * 4);
    if (idx[i] >= types || (i && z->at[i] <= z->at[i - 1])) return -1;
    z->off[i] = (int32_t)be32(tt + (size_t)idx[i] * 6);
  }
  z->n = times;
  z->off_first = (int32_t)be32(tt);
  *after = p + need;
  return 0;
}

int vigil__hl7_zone_open(const char *name, hl7_zone **out, char *err, size_t errlen) {
  *out = NULL;
  if (!name || !valid_name(name))
    return fail(err, errlen, "'%s' is not a time zone's name (an IANA name, e.g. Australia/Brisbane)",
                name ? name : "");
  char path[300];
  snprintf(path, sizeof path, ZONEINFO "%s", name);
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(err, errlen, "'%s' is not a time zone of " ZONEINFO " (an IANA name, e.g. Australia/Brisbane)", name);
  unsigned char *buf = malloc(MAX_FILE);
  size_t len = buf ? fread(buf, 1, MAX_FILE, f) : 0;
  fclose(f);
  hl7_zone *z = calloc(1, sizeof *z);
  int rc = -1;
  const unsigned char *end = buf + len, *after = NULL;
  if (!buf || !z) {
    fail(err, errlen, "time zone '%s': out of memory", name);
  } else if (len < 44 || memcmp(buf, "TZif", 4)) {
    fail(err, errlen, "time zone '%s': not a TZif file", name);
  } else if (buf[4] == 0) { /* version 1: 32-bit times, no footer */
    rc = read_block(z, buf, end, 4, &after);
  } else {
    const unsigned char *v2 = NULL;
    /* skip the version 1 block to the version 2+ header */
    uint32_t isut = be32(buf + 20), isstd = be32(buf + 24), leaps = be32(buf + 28), times = be32(buf + 32),
             types = be32(buf + 36), chars = be32(buf + 40);
    size_t skip = 44 + (size_t)times * 5 + (size_t)types * 6 + chars + (size_t)leaps * 8 + isstd + isut;
    if (skip + 44 <= len && !memcmp(buf + skip, "TZif", 4)) v2 = buf + skip;
    if (v2 && (rc = read_block(z, v2, end, 8, &after)) == 0) {
      /* the footer: "\n" rule "\n" */
      const unsigned char *nl =
          after < end && *after == '\n' ? memchr(after + 1, '\n', (size_t)(end - after - 1)) : NULL;
      char rule[128];
      size_t rlen = nl ? (size_t)(nl - after - 1) : 0;
      if (!nl || rlen >= sizeof rule)
        rc = -1;
      else {
        memcpy(rule, after + 1, rlen);
        rule[rlen] = '\0';
        rc = rule_read(z, rule);
      }
    } else if (!v2) {
      rc = -1;
    }
  }
  if (rc == -2)
    fail(err, errlen, "time zone '%s' counts leap seconds (a right/ zone): name the zone itself", name);
  else if (rc < 0 && buf && z && len >= 44 && !memcmp(buf, "TZif", 4))
    fail(err, errlen, "time zone '%s': its TZif file does not read", name);
  free(buf);
  if (rc < 0) {
    vigil__hl7_zone_free(z);
    return -1;
  }
  snprintf(z->name, sizeof z->name, "%s", name);
  *out = z;
  return 0;
}

void vigil__hl7_zone_free(hl7_zone *z) {
  if (!z) return;
  free(z->at);
  free(z->off);
  free(z);
}

const char *vigil__hl7_zone_name(const hl7_zone *z) { return z->name; }

long vigil__hl7_zone_offset(const hl7_zone *z, long long utc) {
  if (!z->n || utc < z->at[0]) return z->n || !z->has_rule ? z->off_first : rule_offset(z, utc);
  if (utc >= z->at[z->n - 1] && z->has_rule) return rule_offset(z, utc);
  size_t lo = 0, hi = z->n; /* the last transition at or before utc */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->at[mid] <= utc)
      lo = mid;
    else
      hi = mid;
  }
  return z->off[lo];
}

long long vigil__hl7_zone_utc(const hl7_zone *z, long long local) {
  /* The offsets a day before and a day after: a wall time is one of them
   * (the tz database has no two changes within two days of each other). */
  long before = vigil__hl7_zone_offset(z, local - 86400), after = vigil__hl7_zone_offset(z, local + 86400);
  int before_fits = vigil__hl7_zone_offset(z, local - before) == before,
      after_fits = vigil__hl7_zone_offset(z, local - after) == after;
  if (before_fits && after_fits) return local - (before > after ? before : after); /* twice: the first */
  if (after_fits) return local - after;
  return local - before; /* once, or skipped: the offset before the change */
}

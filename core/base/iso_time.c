/* iso_time.c: ISO 8601 times as people type them (vigil_time_parse). */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdio.h>
#include <time.h>

#include "vigil/vigil.h"

/* 2026-01-05, 2026-01-05T08:00[:00[.250]], then Z, +01:00, -0500 or no
 * zone (UTC). Also a space for the T. */
int vigil_time_parse(const char *s, int64_t *ms) {
  struct tm tm = {0};
  const char *p = strptime(s, "%Y-%m-%d", &tm);
  if (!p) return -1;
  int year = tm.tm_year, month = tm.tm_mon, day = tm.tm_mday;
  int64_t frac = 0;
  if (*p == 'T' || *p == ' ') {
    if (!(p = strptime(p + 1, "%H:%M", &tm))) return -1;
    if (*p == ':' && !(p = strptime(p + 1, "%S", &tm))) return -1;
    if (*p == '.') {
      int digits = 0;
      for (p++; *p >= '0' && *p <= '9'; p++, digits++)
        if (digits < 3) frac = frac * 10 + (*p - '0');
      if (!digits) return -1;
      for (; digits < 3; digits++)
        frac *= 10;
    }
  }
  int64_t offset = 0;
  if (*p == 'Z')
    p++;
  else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, hh, mm, n = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 && sscanf(p + 1, "%2d%2d%n", &hh, &mm, &n) != 2) return -1;
    if (hh > 23 || mm > 59) return -1;
    offset = sign * (hh * 3600 + mm * 60);
    p += 1 + n;
  }
  if (*p) return -1;
  time_t secs = timegm(&tm);
  /* timegm rolls 2026-02-30 over into March: refuse what does not exist. */
  struct tm back;
  gmtime_r(&secs, &back);
  if (back.tm_year != year || back.tm_mon != month || back.tm_mday != day) return -1;
  *ms = ((int64_t)secs - offset) * 1000 + frac;
  return 0;
}

/* zone.h: a time zone of the system's tz database, read from its TZif
 * file (RFC 8536) under /usr/share/zoneinfo, for the hl7 plugin's times
 * without an offset (J1, docs/hl7.md): HL7 v2's DTM without one is the
 * sender's local time. Read by the plugin itself, never through the
 * process's TZ, which is vigil's and must not change under it. Pure but
 * for reading the file once. */
#ifndef VIGIL_HL7_ZONE_H
#define VIGIL_HL7_ZONE_H

#include <stddef.h>

typedef struct hl7_zone hl7_zone;

/* The zone named name (an IANA name, "Australia/Brisbane"): *z to free
 * with vigil__hl7_zone_free. 0; or -1 with a sentence in err (not a name,
 * no such zone, a file that is not TZif, a zone with leap seconds). */
int vigil__hl7_zone_open(const char *name, hl7_zone **z, char *err, size_t errlen);
void vigil__hl7_zone_free(hl7_zone *z);

/* The zone's name as opened. */
const char *vigil__hl7_zone_name(const hl7_zone *z);

/* The offset from UTC (seconds east) in force at utc (seconds since the
 * epoch). */
long vigil__hl7_zone_offset(const hl7_zone *z, long long utc);

/* A wall-clock time of the zone (seconds since the epoch as if the zone
 * were UTC) as UTC seconds. A time the clocks skipped (spring forward) is
 * read with the offset before the change, as mktime does; a time they
 * passed twice (fall back) is the first of the two. */
long long vigil__hl7_zone_utc(const hl7_zone *z, long long local);

/* Days from 1970-01-01 to that civil date (proleptic Gregorian). */
long long vigil__hl7_days_from_civil(int year, int month, int day);

#endif

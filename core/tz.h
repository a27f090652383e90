// Time zones for reports: the UTC offset of an IANA zone (Europe/Berlin)
// at any instant, read from the system's compiled zone files (TZif, from
// tzdata in /usr/share/zoneinfo), and the start of the local hour, day
// or ISO week (Monday) that contains an instant, correct across daylight
// saving changes.  The C library's localtime needs the process-wide TZ
// variable, which a daemon answering queries on several threads cannot
// switch safely; a tz value is self-contained instead.
//
// Ownership: a tz is the caller's, freed with tz_free.  Threading: a
// loaded tz is only read, so any number of threads may use it at once.
#ifndef LLMCOST_CORE_TZ_H
#define LLMCOST_CORE_TZ_H

#include <stddef.h>
#include <stdint.h>

// The longest zone name accepted ("America/Argentina/ComodRivadavia" is
// 32 bytes).
#define TZ_NAME_MAX 64
// The most transitions a zone file may list (tzdata's largest has ~240;
// a fat file lists them up to 2037).
#define TZ_MAX_TRANS 2048

typedef struct tz tz;

typedef enum tz_unit {
	TZ_HOUR = 1,
	TZ_DAY,
	TZ_WEEK, // ISO weeks: from Monday 00:00 local time
} tz_unit;

// Loads zone name: "UTC" (also "" and "Z") needs no file; any other name
// is a file under /usr/share/zoneinfo (or $TZDIR).  Names are letters,
// digits and "/_-+", without "." segments.  Returns 0, LLMCOST_EINVAL (a
// malformed name), LLMCOST_ENOTFOUND (no such zone) or LLMCOST_EPROTO (not
// a zone file); err (may be NULL) receives why.
int tz_load(const char *name, tz **out, char *err, size_t errsz);
void tz_free(tz *z);
// The zone's name as loaded ("UTC" for the empty name).
const char *tz_name(const tz *z);
// The offset from UTC, in seconds, in force at Unix time t (seconds).
// Past the zone file's last transition the last offset stays in force.
int32_t tz_offset(const tz *z, int64_t t);
// The start (Unix seconds) of the local unit containing t, and through
// *end (may be NULL) the start of the next one.  A local midnight that a
// clock change skips starts the day at the change.
int64_t tz_floor(const tz *z, tz_unit u, int64_t t, int64_t *end);

#endif // LLMCOST_CORE_TZ_H

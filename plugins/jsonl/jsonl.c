/* jsonl.c: appends vigil's events to a JSON-lines file for log shippers
 * (Filebeat, Vector, Fluent Bit), one event a line in the schema of
 * docs/events.md, rotated by size.
 *
 * Nothing is lost across restarts: the file itself says how far it got
 * (the seq of its last whole line), and at start the plugin appends what
 * the event log holds beyond that. A line cut short by a crash is removed
 * first. When the file was rotated away, the cursor kept in the store at
 * each rotation (`cursor` in plugin.jsonl) says where to go on. A line may
 * thus be written twice after a crash, never skipped; shippers deduplicate
 * on `seq`.
 *
 * `where` names a site's filter (plugin_dir/NAME.lua): only the events it
 * returns true for are written. It decides from the log alone, so the
 * catch-up after a restart writes what the live path would have. An event
 * the filter fails on is written (and vigil logs and counts the failure):
 * a file has no dead letters, and a line too many is better than a gap.
 *
 * E3: on a node of a cluster each site the node owns has its own plugin
 * instance and its own sequence numbers, and the sites' lines may share
 * one file: each line then names its site first ("site"), and an instance
 * learns where it got to from the last line of its own site.
 *
 * AF3: a database restored from a backup numbers its new events from where
 * the backup ended, so the file's last seq may belong to the log's earlier
 * life. At start the plugin compares its last line with the event the log
 * now holds under that seq; when they differ it walks back to the newest
 * line the log still holds as written and goes on after it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_common/plugin_common.h"
#include "vigil/plugin.h"

#define JSONL_VERSION "1.0.0"
#define TAIL 65536 /* enough for the last line of any event */

typedef struct jsonl {
  vigil_plugin *p;
  const vigil_api *api;
  char *path;
  vigil__plugin_types types;
  vigil_filter *where;
  char *where_name;
  uint64_t where_skipped, where_errors;
  long long max_bytes;
  int keep, sync, from_beginning;
  int fd;
  long long size;
  uint64_t last; /* the seq of the last line written */
  uint64_t lines, rotations, errors;
  uint64_t restored_after; /* AF3: the last line the log still held, when the rest was another life's */
  int restored;
  char *site_member; /* E3: "\"site\":\"north\"," on a cluster node (plugin ABI 1.5), NULL on a single server */
} jsonl;

#define say(j, level, ...) vigil__plugin_say((j)->api, (j)->p, level, __VA_ARGS__)

static void save_cursor(jsonl *j) { vigil__plugin_cursor_save(j->api, j->p, "cursor", j->last); }

static void publish_metrics(jsonl *j) {
  j->api->metric_set(j->p, "lines_total", "counter", "Lines appended, this run.", NULL, (double)j->lines);
  j->api->metric_set(j->p, "rotations_total", "counter", "Files rotated, this run.", NULL, (double)j->rotations);
  j->api->metric_set(j->p, "write_errors_total", "counter", "Lines that could not be written, this run.", NULL,
                     (double)j->errors);
  j->api->metric_set(j->p, "last_seq", "gauge", "The seq of the last line written.", NULL, (double)j->last);
}

/* Opens the file, cuts a torn last line, and learns the last seq in it. */
static int open_file(jsonl *j, char **err) {
  j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (j->fd < 0) {
    if (asprintf(err, "plugins.jsonl.path: cannot open %s: %s", j->path, strerror(errno)) < 0) *err = NULL;
    return VIGIL_EIO;
  }
  struct stat st;
  fstat(j->fd, &st);
  j->size = st.st_size;
  if (!j->size) return 0;
  size_t n = j->size < TAIL ? (size_t)j->size : TAIL;
  char *tail = malloc(n + 1);
  if (!tail) return -1;
  ssize_t got = pread(j->fd, tail, n, j->size - (off_t)n);
  if (got < 0) got = 0;
  tail[got] = '\0';
  char *end = got ? tail + got - 1 : tail;
  if (got && *end != '\n') {
    /* A line cut short by a crash: drop it, it is written again below. */
    char *nl = memrchr(tail, '\n', (size_t)got);
    off_t keep = nl ? j->size - (off_t)n + (nl - tail) + 1 : (j->size > (off_t)n ? j->size - (off_t)n : 0);
    if (ftruncate(j->fd, keep) == 0) {
      say(j, VIGIL_PLUGIN_LOG_WARN, "%s ended in a partial line (a crash?): removed it", j->path);
      j->size = keep;
    }
    end = nl ? nl : tail;
  }
  /* The last whole line (on a cluster node the last of this site's) starts
   * after the newline before its own. None in the tail: the cursor says. */
  while (end > tail) {
    *end = '\0';
    char *start = strrchr(tail, '\n');
    int first = !start;
    start = start ? start + 1 : tail;
    if (!j->site_member || !strncmp(start + 1, j->site_member, strlen(j->site_member))) {
      json_t *ev = json_loads(start, 0, NULL);
      uint64_t seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
      if (seq > j->last) j->last = seq;
      json_decref(ev);
      break;
    }
    if (first) break;
    end = start - 1;
  }
  free(tail);
  return 0;
}

/* One line of the file against the log's event under its seq. */
typedef struct line_probe {
  jsonl *j;
  uint64_t seq;
  const char *line;
  size_t len;
  int same;
} line_probe;

/* Whether the line is the event as the live path wrote it: the event's JSON,
 * on a cluster node with the site member after its opening brace. */
static int line_is_event(const jsonl *j, const char *line, size_t len, const vigil_plugin_event *ev) {
  size_t member = j->site_member && ev->json_len > 1 && ev->json[0] == '{' ? strlen(j->site_member) : 0;
  if (!member) return len == ev->json_len && !memcmp(line, ev->json, len);
  return len == ev->json_len + member && line[0] == '{' && !memcmp(line + 1, j->site_member, member) &&
         !memcmp(line + 1 + member, ev->json + 1, ev->json_len - 1);
}

static int probe_event(void *ud, const vigil_plugin_event *ev) {
  line_probe *lp = ud;
  lp->same = ev->seq == lp->seq && line_is_event(lp->j, lp->line, lp->len, ev);
  return 1; /* the first event after seq - 1 is all this needs */
}

/* AF3: the seq to go on after. The file's own last line when the log holds it
 * as written (every start but the first after a restore); else the newest line
 * of the file's last 64 KiB that the log holds as written; else 0: the whole
 * log again (at worst repeated lines, never a skipped one). */
static uint64_t last_line_the_log_holds(jsonl *j, char *tail, size_t n) {
  char *end = tail + n;
  int newest = 1;
  while (end > tail) {
    *end = '\0';
    char *start = memrchr(tail, '\n', (size_t)(end - tail));
    char *line = start ? start + 1 : tail;
    if (*line && (!j->site_member || !strncmp(line + 1, j->site_member, strlen(j->site_member)))) {
      json_t *ev = json_loads(line, 0, NULL);
      line_probe lp = {
          .j = j, .seq = (uint64_t)json_integer_value(json_object_get(ev, "seq")), .line = line, .len = strlen(line)};
      json_decref(ev);
      if (lp.seq && j->api->events_after(j->p, lp.seq - 1, probe_event, &lp) < 0) return j->last; /* cannot tell */
      if (lp.seq && lp.same) return newest ? j->last : lp.seq;
      newest = 0;
    }
    if (!start) break;
    end = start;
  }
  return newest ? j->last : 0;
}

static void check_restore(jsonl *j) {
  if (j->size <= 0) return;
  size_t n = j->size < TAIL ? (size_t)j->size : TAIL;
  char *tail = malloc(n + 1);
  if (!tail) return;
  ssize_t got = pread(j->fd, tail, n, j->size - (off_t)n);
  if (got > 0 && tail[got - 1] == '\n') {
    uint64_t from = last_line_the_log_holds(j, tail, (size_t)got - 1);
    if (from != j->last) {
      say(j, VIGIL_PLUGIN_LOG_WARN,
          "%s: its last line (seq %llu) is not the event the log holds under that seq (the database was "
          "restored from a backup, or is another one): writing the log's events after seq %llu again; the "
          "file's lines between are from the log's earlier life",
          j->path, (unsigned long long)j->last, (unsigned long long)from);
      j->last = from;
      j->restored_after = from;
      j->restored = 1;
    }
  }
  free(tail);
}

/* path -> path.1 -> path.2 ... up to path.<keep>; the oldest goes. */
static void rotate(jsonl *j) {
  if (j->sync) fdatasync(j->fd);
  close(j->fd);
  j->fd = -1;
  size_t len = strlen(j->path) + 16;
  char *from = malloc(len), *to = malloc(len);
  if (from && to) {
    snprintf(to, len, "%s.%d", j->path, j->keep);
    unlink(to);
    for (int i = j->keep - 1; i >= 1; i--) {
      snprintf(from, len, "%s.%d", j->path, i);
      snprintf(to, len, "%s.%d", j->path, i + 1);
      rename(from, to);
    }
    snprintf(to, len, "%s.1", j->path);
    if (rename(j->path, to) < 0) say(j, VIGIL_PLUGIN_LOG_ERROR, "cannot rotate %s: %s", j->path, strerror(errno));
  }
  free(from);
  free(to);
  /* The new file is empty: the store remembers where the old one ended. */
  save_cursor(j);
  char *err = NULL;
  if (open_file(j, &err) < 0) {
    say(j, VIGIL_PLUGIN_LOG_ERROR, "%s", err ? err : "cannot open the new file");
    free(err);
  }
  j->rotations++;
}

static int append(jsonl *j, const vigil_plugin_event *ev) {
  if (ev->seq <= j->last || !vigil__plugin_types_wanted(&j->types, j->api, j->p, ev->type)) return 0;
  if (j->where) {
    int match = j->api->filter_test(j->where, ev, NULL, 0);
    if (match == 0) {
      j->where_skipped++;
      return 0;
    }
    if (match < 0) j->where_errors++; /* written regardless */
  }
  if (j->fd >= 0 && j->size > 0 && j->size + (long long)ev->json_len + 1 > j->max_bytes) rotate(j);
  if (j->fd < 0) {
    j->errors++;
    return -1;
  }
  /* One write of the line and its newline: a reader never sees half a line.
   * On a cluster node the site is the object's first member (an event is
   * never an empty object: it has its seq). */
  size_t member = j->site_member && ev->json_len > 1 && ev->json[0] == '{' ? strlen(j->site_member) : 0;
  size_t len = ev->json_len + member + 1;
  char *line = malloc(len);
  if (!line) return -1;
  if (member) {
    line[0] = '{';
    memcpy(line + 1, j->site_member, member);
    memcpy(line + 1 + member, ev->json + 1, ev->json_len - 1);
  } else
    memcpy(line, ev->json, ev->json_len);
  line[len - 1] = '\n';
  ssize_t n = write(j->fd, line, len);
  free(line);
  if (n != (ssize_t)len) {
    j->errors++;
    say(j, VIGIL_PLUGIN_LOG_ERROR, "cannot append event %llu to %s: %s", (unsigned long long)ev->seq, j->path,
        n < 0 ? strerror(errno) : "short write");
    if (n > 0 && ftruncate(j->fd, j->size) < 0) j->errors++;
    return -1;
  }
  if (j->sync) fdatasync(j->fd);
  j->size += n;
  j->last = ev->seq;
  j->lines++;
  return 0;
}

static int on_event(void *ud, const vigil_plugin_event *ev) {
  jsonl *j = ud;
  int rc = append(j, ev);
  publish_metrics(j);
  return rc;
}

static int catch_up(void *ud, const vigil_plugin_event *ev) {
  append(ud, ev);
  return 0;
}

static char *status(void *ud) {
  jsonl *j = ud;
  json_t *s = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "path", j->path, "size", (json_int_t)j->size, "last_seq",
                        (json_int_t)j->last, "lines", (json_int_t)j->lines, "rotations", (json_int_t)j->rotations,
                        "write_errors", (json_int_t)j->errors);
  if (s && j->restored) json_object_set_new(s, "restored_after_seq", json_integer((json_int_t)j->restored_after));
  if (s && j->where_name) {
    json_object_set_new(s, "where", json_string(j->where_name));
    json_object_set_new(s, "where_skipped", json_integer((json_int_t)j->where_skipped));
    json_object_set_new(s, "where_errors", json_integer((json_int_t)j->where_errors));
  }
  char *text = s ? json_dumps(s, JSON_COMPACT) : NULL;
  json_decref(s);
  return text;
}

static void free_all(jsonl *j) {
  j->api->filter_close(j->where);
  free(j->where_name);
  vigil__plugin_types_free(&j->types);
  free(j->path);
  free(j->site_member);
  free(j);
}

static void on_close(void *ud) {
  jsonl *j = ud;
  if (j->fd >= 0) {
    fdatasync(j->fd);
    close(j->fd);
  }
  save_cursor(j);
  free_all(j);
}

static int read_settings(jsonl *j, json_t *s, char **err) {
  /* AF6: a misspelt or misplaced setting is refused, not silently ignored (H8). */
  static const char *const known[] = {"path", "max_bytes", "keep", "sync", "start", "types", "where", NULL};
  if (vigil__plugin_known_settings(s, known, "plugins.jsonl", err) < 0) return VIGIL_EINVAL;
  const char *path = json_string_value(json_object_get(s, "path"));
  if (!path || !*path) return vigil__plugin_refuse(err, "plugins.jsonl.path: want the file to append to");
  if (!(j->path = strdup(path))) return -1;
  json_t *max = json_object_get(s, "max_bytes"), *keep = json_object_get(s, "keep"), *sync = json_object_get(s, "sync");
  j->max_bytes = max ? (long long)json_number_value(max) : 100LL << 20;
  j->keep = keep ? (int)json_integer_value(keep) : 5;
  if (j->max_bytes < 4096)
    return vigil__plugin_refuse(err, "plugins.jsonl.max_bytes: want at least 4096 (default 100 MiB)");
  if (j->keep < 1 || j->keep > 1000)
    return vigil__plugin_refuse(err, "plugins.jsonl.keep: want 1 to 1000 rotated files (default 5)");
  if (sync && !json_is_boolean(sync)) return vigil__plugin_refuse(err, "plugins.jsonl.sync: want true or false");
  j->sync = json_is_true(sync);
  int rc = vigil__plugin_start_read(json_object_get(s, "start"), "plugins.jsonl.start", &j->from_beginning, err);
  if (rc < 0 ||
      (rc = vigil__plugin_types_read(&j->types, json_object_get(s, "types"), "*", "plugins.jsonl.types", err)) < 0)
    return rc;
  json_t *where = json_object_get(s, "where");
  if (!where) return 0;
  return vigil__plugin_where_open(j->api, j->p, where, "plugins.jsonl.where", &j->where_name, &j->where, err);
}

static int init(vigil_plugin *p, const vigil_api *api, char **err) {
  jsonl *j = calloc(1, sizeof *j);
  json_t *s = json_loads(api->settings(p), 0, NULL);
  if (!j || !s) {
    free(j);
    json_decref(s);
    return -1;
  }
  j->p = p;
  j->api = api;
  j->fd = -1;
  int rc = read_settings(j, s, err);
  json_decref(s);
  if (rc < 0) {
    free_all(j);
    return rc;
  }
  const char *site =
      api->abi_minor >= 5 && api->size >= offsetof(vigil_api, site) + sizeof api->site ? api->site(p) : NULL;
  if (site) {
    json_t *name = json_string(site);
    char *quoted = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
    json_decref(name);
    if (!quoted || asprintf(&j->site_member, "\"site\":%s,", quoted) < 0) j->site_member = NULL;
    free(quoted);
    if (!j->site_member) {
      free_all(j);
      return -1;
    }
  }
  int known = vigil__plugin_cursor_load(api, p, "cursor", &j->last);
  if ((rc = open_file(j, err)) < 0) {
    free_all(j);
    return rc;
  }
  /* A new file with no cursor starts now, unless the settings ask for the whole log. */
  if (!known && !j->size && !j->from_beginning) j->last = api->last_seq(p);
  check_restore(j);
  if ((rc = api->on_close(p, on_close, j)) < 0) {
    on_close(j);
    return rc;
  }
  /* What the log holds beyond the file's end (vigil stopped, crashed, or the plugin is new). */
  if ((rc = api->events_after(p, j->last, catch_up, j)) < 0) return rc;
  for (size_t i = 0; i < j->types.n && rc == 0; i++)
    if ((rc = api->subscribe(p, j->types.pattern[i], on_event, j)) < 0)
      vigil__plugin_refuse(err, "plugins.jsonl.types: '%s' matches no event type", j->types.pattern[i]);
  if (rc == 0) rc = api->on_status(p, status, j);
  publish_metrics(j);
  return rc;
}

VIGIL_PLUGIN_DEFINE(JSONL_VERSION, init);

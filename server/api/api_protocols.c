/* api_protocols.c: protocol versions on a server.
 *
 *   GET  /api/v1/protocols                every version loaded, each with its approval
 *   GET  /api/v1/protocols/{ref}          one: "id@version", or "id" (the newest approved)
 *   POST /api/v1/protocols/lint           (author) {files}: its problems and its specs' results, nothing kept
 *   POST /api/v1/protocols                (author) {files}: a new version, linted and tested, kept and
 *                                         loaded, not yet usable
 *   GET  /api/v1/protocols/{ref}/diff     what the version changes from the newest approved one of its id,
 *                                         in clinical terms, and the prescription's changes
 *   POST /api/v1/protocols/{ref}/approve  (admin, a signature) {password, confirm_prescribed}: new visits
 *                                         may start on it; changes to the prescription need confirming,
 *                                         and safety controls removed or weakened confirm_weakened
 *
 * A version is usable for new visits once approved. The versions in the
 * configured protocol folders are approved by their installation (whoever
 * put them there); an uploaded one waits for an admin. Approvals are kept in
 * the store's key-value table (namespace "approval", by fingerprint), a
 * row the store derives from the protocol.approved event in the event's own
 * transaction; uploads are kept as folders beside
 * the database (api_options.uploads_dir), which vigil serve loads at start,
 * and recorded as protocol.uploaded events. A version (id@version) is
 * immutable: uploading other sources under the same version is refused. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_internal.h"
#include "child.h"
#include "diffs.h"
#include "base/buf.h"
#include "base/intern.h"
#include "author/protocol_diff.h"
#include "author/spec.h"
#include "engine/inspect.h"
#include "store/store.h"

#define MAX_FILES 64
#define MAX_REPORTED 100 /* problems or failed checks in one answer */

/* ---- approvals ------------------------------------------------------------------ */

typedef struct approval {
  char sha256[65];
  char by[USER_NAME_MAX + 1];
  int64_t at_ms;
} approval;

static int load_approval(void *ud, const char *key, const void *value, size_t len) {
  api *a = ud;
  json_t *j = json_loadb(value, len, 0, NULL);
  approval *grown = j ? realloc(a->approvals, (a->n_approvals + 1) * sizeof *grown) : NULL;
  if (grown && strlen(key) == 64) {
    a->approvals = grown;
    approval *x = &a->approvals[a->n_approvals++];
    snprintf(x->sha256, sizeof x->sha256, "%s", key);
    snprintf(x->by, sizeof x->by, "%s", json_string_value(json_object_get(j, "by")) ?: "?");
    x->at_ms = json_integer_value(json_object_get(j, "at_ms"));
  } else if (grown) {
    a->approvals = grown;
  }
  json_decref(j);
  return 0;
}

static void remove_tree(const char *dir);

/* What a crash left half-written in the uploads folder goes. */
static void sweep_incoming(const char *uploads) {
  DIR *d = uploads ? opendir(uploads) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (strncmp(de->d_name, ".incoming-", 10)) continue;
    char path[4608];
    snprintf(path, sizeof path, "%s/%s", uploads, de->d_name);
    remove_tree(path);
  }
  if (d) closedir(d);
}

int vigil__api_load_approvals(api *a, char *err, size_t errlen) {
  sweep_incoming(a->uploads_dir);
  return vigil__api_reload_approvals(a, err, errlen);
}

int vigil__api_reload_approvals(api *a, char *err, size_t errlen) {
  free(a->approvals);
  a->approvals = NULL;
  a->n_approvals = 0;
  return a->store ? a->store->ops->kv_scan(a->store, "approval", load_approval, a, err, errlen) : 0;
}

static const approval *approval_of(const api *a, const char *sha256) {
  for (size_t i = 0; i < a->n_approvals; i++)
    if (!strcmp(a->approvals[i].sha256, sha256)) return &a->approvals[i];
  return NULL;
}

/* ---- who uploaded a version, who made whom (docs/security.md V5, S2) ------------------ */

/* From the log: a protocol.uploaded event's version (what: its sha256) and
 * uploader (by), a user.created event's user (what) and creator (by), or a
 * user.changed event's user whose password was set (what) and who set it
 * (by: the user, or an admin's reset). */
typedef struct uploader {
  char what[USER_NAME_MAX + 1];
  char by[USER_NAME_MAX + 1];
  int made; /* 1: a user.created; 2: a user.changed with password_changed */
} uploader;

static int read_upload(void *ud, const vigil_event *ev) {
  api *a = ud;
  a->uploads_scanned = ev->seq;
  int made = ev->type == EV_USER_CREATED;
  if (ev->type == EV_USER_CHANGED) {
    val *changed = vigil__val_get(ev->data, vigil__intern("password_changed"));
    made = changed && changed->type == VAL_BOOL && changed->u.b ? 2 : 0;
  }
  if ((ev->type != EV_PROTOCOL_UPLOADED && !made) || !ev->actor) return 0;
  val *what = vigil__val_get(ev->data, made ? K(user) : K(sha256));
  const char *text = what ? val_text(*what) : NULL;
  if (!text || (made ? strlen(text) > USER_NAME_MAX : strlen(text) != 64)) return 0;
  uploader *grown =
      vigil__grow(a->uploaders, a->cap_uploaders, a->n_uploaders + 1, sizeof *grown, 16, &a->cap_uploaders);
  if (!grown) {
    a->uploads_scanned = ev->seq - 1; /* read again next time */
    return 1;
  }
  a->uploaders = grown;
  uploader *u = &a->uploaders[a->n_uploaders++];
  snprintf(u->what, sizeof u->what, "%s", text);
  snprintf(u->by, sizeof u->by, "%s", ev->actor);
  u->made = made;
  return 0;
}

/* Reads what the log has written since the last call; 0, or -1 when it
 * could not be read (what is known stays). */
static int read_uploads(api *a) {
  char err[256];
  if (!a->store) return 0;
  return a->store->ops->scan(a->store, a->uploads_scanned, 0, read_upload, a, err, sizeof err) == 0 ? 0 : -1;
}

/* Who uploaded the version of this fingerprint (the latest of its
 * protocol.uploaded events' actors) or who created this user (their
 * user.created event's actor), as read so far; NULL: none (a version
 * installed with the server, a user made before the log). */
static const char *made_by(const api *a, const char *what, int made) {
  for (size_t i = a->n_uploaders; i-- > 0;)
    if (a->uploaders[i].made == made && !strcmp(a->uploaders[i].what, what)) return a->uploaders[i].by;
  return NULL;
}

/* Whether the account maker was made by was created by maker, or by an
 * account maker created, and so on (user.created events followed up from
 * made; a chain is no longer than the users read). */
static int made_through(const api *a, const char *maker, const char *made) {
  const char *u = made_by(a, made, 1);
  for (size_t k = 0; u && k < a->n_uploaders; k++, u = made_by(a, u, 1))
    if (!strcmp(u, maker)) return 1;
  return 0;
}

/* Who last set the password of account name other than the account
 * itself (its user.created's or a user.changed password_changed's actor),
 * or NULL. AC5: the account's own change does not count. Signed in with a
 * password another admin chose, that admin can change it as well as its
 * owner can, and nothing tells the two apart: an admin who created admin3
 * signed in as admin3, changed its password and approved. What another
 * admin chose stays theirs until a reset by someone else (another admin,
 * or the console's vigil user passwd). */
static const char *password_setter(const api *a, const char *name) {
  for (size_t i = a->n_uploaders; i-- > 0;)
    if (a->uploaders[i].made && !strcmp(a->uploaders[i].what, name) && strcmp(a->uploaders[i].by, name) != 0)
      return a->uploaders[i].by;
  return NULL;
}

/* Y4: who knows the password of account name: whoever set it last (its
 * password_setter) when that is another account, and who knows theirs, and
 * so on; the account itself when no account set it (made or reset at the
 * console by vigil user add or passwd, whose actor is console:LOGIN, or
 * before the log). A creator who chose two accounts' passwords holds both
 * until someone else resets them (AC5: not when their owners change them). */
static const char *password_holder(const api *a, const char *name) {
  const char *h = name;
  for (size_t k = 0; k <= a->n_uploaders; k++) {
    const char *by = password_setter(a, h);
    if (!by || !vigil__users_find(a->users, by)) return h;
    h = by;
  }
  return h;
}

/* Z1: whether uploader set the password of account name last (a reset
 * through POST /users/{name}, or the user.created that chose it), or set
 * the password of whoever set it last, and so on up the chain: the
 * uploader knows that password. The account's own changes do not end it
 * (AC5, password_setter); a chain stops at one nobody in the log chose
 * (the console). */
static int password_set_by(const api *a, const char *up, const char *name) {
  const char *h = name;
  for (size_t k = 0; k <= a->n_uploaders; k++) {
    const char *by = password_setter(a, h);
    if (!by) return 0;
    if (!strcmp(by, up)) return 1;
    h = by;
  }
  return 0;
}

static const char *uploader_of(api *a, const char *sha256) {
  read_uploads(a);
  return made_by(a, sha256, 0);
}

static int installed(const api *a, const char *ref) {
  for (size_t i = 0; i < a->n_refs; i++)
    if (!strcmp(a->refs[i], ref)) return 1;
  return 0;
}

static int is_approved(const api *a, const char *ref, const char *sha256) {
  return installed(a, ref) || approval_of(a, sha256);
}

/* ---- which version ----------------------------------------------------------------- */

typedef struct lookup {
  const api *a;
  const char *want; /* "id@version" or "id" */
  int approved_only;
  char ref[256], version[64], sha256[65];
  int found;
} lookup;

static void consider(void *ud, const char *ref, const char *id, const char *version, const char *sha256) {
  lookup *l = ud;
  if (strchr(l->want, '@') ? strcmp(ref, l->want) != 0 : strcmp(id, l->want) != 0) return;
  if (l->approved_only && !is_approved(l->a, ref, sha256)) return;
  if (l->found && vigil_version_compare(version, l->version) <= 0) return;
  snprintf(l->ref, sizeof l->ref, "%s", ref);
  snprintf(l->version, sizeof l->version, "%s", version);
  memcpy(l->sha256, sha256, 65);
  l->found = 1;
}

/* The loaded version `want` names (a bare id: its newest, approved when
 * approved_only); 0 if none. */
static int find(api *a, const char *want, int approved_only, lookup *out) {
  *out = (lookup){.a = a, .want = want, .approved_only = approved_only};
  vigil_engine_protocols(a->e, consider, out);
  return out->found;
}

const char *vigil__api_startable_ref(api *a, http_request *req, const char *want, char *out, size_t len) {
  lookup l;
  if (find(a, want, 1, &l)) {
    snprintf(out, len, "%s", l.ref);
    return out;
  }
  if (find(a, want, 0, &l)) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s is not approved yet: an admin approves a version before visits start on it", l.ref);
    vigil__http_respond_error(req, 409, "not_approved", msg, "protocol");
    return NULL;
  }
  return want; /* the engine says it is unknown */
}

/* ---- the list ------------------------------------------------------------------------ */

static json_t *approval_json(const api *a, const char *ref, const char *sha256) {
  if (installed(a, ref)) return json_pack("{s:s}", "by", "installation");
  const approval *x = approval_of(a, sha256);
  return x ? json_pack("{s:s, s:I}", "by", x->by, "at_ms", (json_int_t)x->at_ms) : json_null();
}

/* Every loaded version as JSON, each with "approved" (null: waiting). */
static json_t *protocols_json(api *a) {
  char *text = vigil_query_protocols_json(a->e);
  json_t *j = text ? json_loads(text, 0, NULL) : NULL;
  free(text);
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(j, "protocols"), i, p) {
    const char *ref = json_string_value(json_object_get(p, "ref")),
               *sha = json_string_value(json_object_get(p, "sha256"));
    json_object_set_new(p, "approved", approval_json(a, ref ? ref : "", sha ? sha : ""));
    const char *by = sha && !installed(a, ref ? ref : "") ? uploader_of(a, sha) : NULL;
    if (by) json_object_set_new(p, "uploaded_by", json_string(by));
    /* "default" is what a bare id starts: its newest approved version, not
     * the newest loaded one the engine names (AC8: an unapproved upload was
     * shown as the default). */
    const char *id = json_string_value(json_object_get(p, "id"));
    lookup l;
    json_object_set_new(p, "default", json_boolean(id && ref && find(a, id, 1, &l) && !strcmp(l.ref, ref)));
    /* Served though its specs fail or it has none (G10: --allow-untested). */
    for (size_t k = 0; ref && k < a->n_untested; k++)
      if (!strcmp(a->untested[k], ref)) json_object_set_new(p, "untested", json_true());
  }
  return j;
}

void vigil__api_get_protocols(api *a, http_request *req, const api_call *c) {
  (void)c;
  json_t *j = protocols_json(a);
  vigil__api_reply_free(req, j ? 200 : 503, j ? json_dumps(j, JSON_COMPACT) : NULL, NULL);
  json_decref(j);
}

/* One version's JSON (borrowed from list), or NULL. */
static json_t *entry_of(json_t *list, const char *ref) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(list, "protocols"), i, p) {
    if (!strcmp(json_string_value(json_object_get(p, "ref")) ?: "", ref)) return p;
  }
  return NULL;
}

static void get_protocol(api *a, http_request *req, const char *want) {
  lookup l;
  if (!find(a, want, 1, &l) && !find(a, want, 0, &l)) {
    vigil__http_respond_error(req, 404, "not_found", "no such protocol version", NULL);
    return;
  }
  json_t *list = protocols_json(a);
  json_t *p = entry_of(list, l.ref);
  vigil__api_reply_free(req, p ? 200 : 503, p ? json_dumps(p, JSON_COMPACT) : NULL, NULL);
  json_decref(list);
}

/* ---- the clinical diff an approval shows (docs/safety.md, F7) ---------------------------- */

/* A diff's lines, and whether one could not be added (out of memory). */
typedef struct diff_lines {
  json_t *lines;
  int lost;
} diff_lines;

static void add_line(void *ud, const char *line) {
  diff_lines *d = ud;
  d->lost |= !d->lines || json_array_append_new(d->lines, json_string(line)) < 0;
}

void vigil__api_get_protocol(api *a, http_request *req, const api_call *c) { get_protocol(a, req, c->text); }

/* The newest approved version of l's id other than l itself, into base: 1
 * when there is one. */
static int base_of(api *a, const lookup *l, lookup *base) {
  char id[256];
  snprintf(id, sizeof id, "%s", l->ref);
  char *at = strchr(id, '@');
  if (at) *at = '\0';
  return find(a, id, 1, base) && strcmp(base->ref, l->ref);
}

/* A diff_compute (diffs.h): {"ref", "against" (the newest approved version
 * of the same id, or null), "lines" (vigil protocol diff's report),
 * "prescribed" (the prescription's changes, each a line), "weakened"}, or
 * NULL when any part of it ran out of memory: a diff cut short would show
 * fewer changes than there are (AC1), so none is shown or kept. Run in a
 * child process (diffs.c), for GET .../diff and for an approval with none
 * kept (AM2). */
static json_t *diff_compute_whole(api *a, const char *ref, const char *base_ref) {
  protocol *pb = vigil__engine_find_protocol(a->e, ref);
  protocol *pa = base_ref[0] ? vigil__engine_find_protocol(a->e, base_ref) : NULL;
  diff_lines lines = {json_array(), 0}, prescribed = {json_array(), 0}, weakened = {json_array(), 0},
             code = {json_array(), 0};
  int rc = 0;
  if (pb && pa) rc |= vigil__protocol_diff(pa, pb, add_line, &lines) < 0;
  if (pb) rc |= vigil__protocol_prescribed_changes(pa, pb, add_line, &prescribed) < 0;
  if (pb && pa) rc |= vigil__protocol_weakened(pa, pb, add_line, &weakened) < 0;
  if (pb && pa) rc |= vigil__protocol_code_changes(pa, pb, add_line, &code) < 0;
  if (rc || lines.lost || prescribed.lost || weakened.lost || code.lost) {
    json_decref(lines.lines);
    json_decref(prescribed.lines);
    json_decref(weakened.lines);
    json_decref(code.lines);
    return NULL;
  }
  return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "ref", ref, "against", pa ? json_string(base_ref) : json_null(),
                   "lines", lines.lines, "prescribed", prescribed.lines, "weakened", weakened.lines, "code_changed",
                   code.lines);
}

/* The pair of versions a diff of l compares, as the lane keeps it. */
static void pair_of(api *a, const lookup *l, lane_read *pair) {
  lookup base;
  int has_base = base_of(a, l, &base);
  snprintf(pair->ref, sizeof pair->ref, "%s", l->ref);
  snprintf(pair->sha256, sizeof pair->sha256, "%s", l->sha256);
  snprintf(pair->base_ref, sizeof pair->base_ref, "%s", has_base ? base.ref : "");
  snprintf(pair->base_sha256, sizeof pair->base_sha256, "%s", has_base ? base.sha256 : "");
}

/* The diff of l kept, for its approval; NULL, req answered 503 with
 * Retry-After, when none is kept yet: it is computed in a child meanwhile,
 * never on the loop (AM2: 7-8.6 s of every client's time when the approval
 * computed it here), and the approval asked again uses it. */
static json_t *diff_for_approval(api *a, http_request *req, const lookup *l) {
  lane_read pair = {0};
  pair_of(a, l, &pair);
  return vigil__api_diff_for_approval(a, req, &pair, diff_compute_whole);
}

/* A lane_build (lane.h): the diff kept meanwhile, or computed in a child. */
static void build_diff(api *a, http_request *req, const lane_read *pair) {
  vigil__api_diff_start(a, req, pair, diff_compute_whole);
}

/* Kept, answered at once; else computed in a child process, from the lane
 * of costly reads, one at a time (diffs.c). */
void vigil__api_get_diff(api *a, http_request *req, const api_call *c) {
  const char *want = c->text;
  lookup l;
  if (!find(a, want, 1, &l) && !find(a, want, 0, &l)) {
    vigil__http_respond_error(req, 404, "not_found", "no such protocol version", NULL);
    return;
  }
  lane_read pair = {0};
  pair_of(a, &l, &pair);
  json_t *j = vigil__api_diff_kept(a, pair.ref, pair.sha256, pair.base_ref, pair.base_sha256);
  if (!j) {
    vigil__api_diff_request(a, req, c->who ? c->who->name : "", &pair, build_diff);
    return;
  }
  vigil__api_reply_free(req, 200, json_dumps(j, JSON_COMPACT), NULL);
  json_decref(j);
}

/* ---- uploads: files into a folder ------------------------------------------------------ */

/* A file's path within the protocol's folder: relative, no "..", plain
 * characters, a .lua file. */
static int path_ok(const char *path) {
  size_t n = strlen(path);
  if (n == 0 || n > 200 || path[0] == '/' || n < 5 || strcmp(path + n - 4, ".lua")) return 0;
  for (const char *p = path; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.' || *p == '/')) return 0;
  return !strstr(path, "..") && !strstr(path, "//");
}

static int write_file(const char *dir, const char *path, const char *text, size_t len) {
  char full[4096];
  snprintf(full, sizeof full, "%s/%s", dir, path);
  for (char *slash = strchr(full + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    if (mkdir(full, 0750) < 0 && errno != EEXIST) return -1;
    *slash = '/';
  }
  FILE *f = fopen(full, "wb");
  if (!f) return -1;
  int ok = fwrite(text, 1, len, f) == len;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* Calls on_file for each file under dir, at every depth, and on_dir for
 * each folder once its contents are done (dir last); either may be NULL. */
static void walk(const char *dir, void (*on_file)(const char *path, void *ud),
                 void (*on_dir)(const char *path, void *ud), void *ud) {
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
      walk(path, on_file, on_dir, ud);
    else if (on_file)
      on_file(path, ud);
  }
  if (d) closedir(d);
  if (on_dir) on_dir(dir, ud);
}

static void unlink_file(const char *path, void *ud) {
  (void)ud;
  unlink(path);
}

static void remove_dir(const char *path, void *ud) {
  (void)ud;
  rmdir(path);
}

static void remove_tree(const char *dir) { walk(dir, unlink_file, remove_dir, NULL); }

/* The files of the body into a fresh folder under the uploads folder; its
 * path in dir. 0, or -1 after answering. */
static int unpack(api *a, http_request *req, json_t *files, char *dir, size_t len) {
  if (!json_is_object(files) || json_object_size(files) == 0 || json_object_size(files) > MAX_FILES) {
    vigil__http_respond_error(req, 422, "invalid_field",
                              "files is an object of path: Lua text, with protocol.lua and at most 64 files", "files");
    return -1;
  }
  if (!json_is_string(json_object_get(files, "protocol.lua"))) {
    vigil__http_respond_error(req, 422, "invalid_field", "files needs protocol.lua", "files");
    return -1;
  }
  const char *path;
  json_t *text;
  json_object_foreach(files, path, text) {
    if (!path_ok(path) || !json_is_string(text)) {
      char msg[400];
      snprintf(msg, sizeof msg,
               "'%.200s': a file is a relative path of letters, digits, '_', '-', '.' and '/' "
               "ending in .lua, and its text",
               path);
      vigil__http_respond_error(req, 422, "invalid_field", msg, "files");
      return -1;
    }
  }
  if (!a->uploads_dir || (mkdir(a->uploads_dir, 0750) < 0 && errno != EEXIST)) {
    vigil__http_respond_error(req, 503, "io_error", "the uploads folder cannot be made", NULL);
    return -1;
  }
  snprintf(dir, len, "%s/.incoming-XXXXXX", a->uploads_dir);
  if (!mkdtemp(dir)) {
    vigil__http_respond_error(req, 503, "io_error", "cannot make a folder for the upload", NULL);
    return -1;
  }
  json_object_foreach(files, path, text) {
    if (write_file(dir, path, json_string_value(text), json_string_length(text)) < 0) {
      remove_tree(dir);
      vigil__http_respond_error(req, 503, "io_error", "cannot write the upload", NULL);
      return -1;
    }
  }
  return 0;
}

/* ---- checks: lint, then specs ---------------------------------------------------------- */

typedef struct report {
  const char *dir; /* stripped from the places named */
  json_t *problems, *failures;
  int checks, failed;
} report;

/* text without the folder the upload is checked in: "DIR/protocol.lua:3"
 * becomes "protocol.lua:3", and so does Lua's shortened form of a long
 * chunk name, "...END-OF-DIR/protocol.lua:3" (luaO_chunkid), so that no
 * fragment of where the server keeps uploads reaches the client. A JSON
 * string (null when out of memory, which json_pack then refuses). */
static json_t *relative(const report *r, const char *text) {
  const char *dir = r->dir;
  size_t dl = strlen(dir);
  if (!text) text = "";
  char *out = malloc(strlen(text) + 1), *o = out;
  if (!out) return NULL;
  for (const char *in = text; *in;) {
    if (dl && !strncmp(in, dir, dl) && in[dl] == '/') {
      in += dl + 1;
      continue;
    }
    size_t k = 0;
    if (!strncmp(in, "...", 3))
      for (k = dl; k > 0; k--)
        if (!strncmp(in + 3, dir + dl - k, k) && in[3 + k] == '/') break;
    if (k) {
      in += 3 + k + 1;
      continue;
    }
    *o++ = *in++;
  }
  *o = '\0';
  json_t *j = json_string(out);
  free(out);
  return j;
}

static void on_problem(void *ud, const char *where, const char *message) {
  report *r = ud;
  if (json_array_size(r->problems) < MAX_REPORTED)
    json_array_append_new(r->problems,
                          json_pack("{s:o, s:o}", "where", relative(r, where), "message", relative(r, message)));
}

static void on_check(void *ud, const spec_result *res) {
  report *r = ud;
  r->checks++;
  if (res->ok) return;
  r->failed++;
  if (json_array_size(r->failures) >= MAX_REPORTED) return;
  json_t *f = json_pack("{s:o, s:o, s:o, s:o}", "spec", relative(r, res->spec), "check", relative(r, res->name),
                        "where", relative(r, res->where), "message", relative(r, res->message));
  if (res->expected) json_object_set_new(f, "expected", relative(r, res->expected));
  if (res->actual) json_object_set_new(f, "actual", relative(r, res->actual));
  json_array_append_new(r->failures, f);
}

/* Lints the folder and, when clean, runs its *_spec.lua files. 0 when all
 * is well (ref and sha256 filled in), 1 when something failed (in r). */
static int check_folder(const char *dir, json_t *files, report *r, char *ref, size_t reflen, char sha256[65]) {
  *r = (report){.dir = dir, .problems = json_array(), .failures = json_array()};
  int n = vigil_lint_identify(dir, on_problem, r, ref, reflen, sha256);
  if (n != 0) {
    if (n < 0) on_problem(r, "protocol.lua", "the protocol cannot be checked (out of memory)");
    return 1;
  }
  const char *path;
  json_t *text;
  json_object_foreach(files, path, text) {
    size_t len = strlen(path);
    if (len < 9 || strcmp(path + len - 9, "_spec.lua")) continue;
    char full[4096], err[512];
    snprintf(full, sizeof full, "%s/%s", dir, path);
    if (vigil__spec_run_file(dir, full, on_check, r, NULL, err, sizeof err) < 0) {
      r->failed++;
      json_array_append_new(r->failures, json_pack("{s:s, s:o}", "where", path, "message", relative(r, err)));
    }
  }
  return r->failed ? 1 : 0;
}

static json_t *report_json(const report *r) {
  return json_pack("{s:O, s:{s:i, s:i, s:O}}", "problems", r->problems, "specs", "checks", r->checks, "failed",
                   r->failed, "failures", r->failures);
}

static void report_free(report *r) {
  json_decref(r->problems);
  json_decref(r->failures);
}

/* 1 when an upload of the checked files is refused, with the error body of
 * its 422 in *body (NULL when out of memory); 0 when it is kept. Refused:
 * problems (protocol_invalid) or failed specs (specs_failed), with the
 * report; or no spec making a check at all (specs_missing, G10 in
 * docs/safety.md): a version comes with the specs that show it does what it
 * says, and one without (a version that had specs, uploaded again without
 * its specs/) is not put before an admin for approval. */
static int refusal(const report *r, json_t *files, char **body) {
  *body = NULL;
  if (json_array_size(r->problems) || r->failed) {
    json_t *extra = report_json(r);
    *body =
        vigil__http_error_json(json_array_size(r->problems) ? "protocol_invalid" : "specs_failed",
                               json_array_size(r->problems) ? "the protocol has problems (see problems)"
                                                            : "some of the protocol's specs fail (see specs.failures)",
                               "files", extra);
    json_decref(extra);
    return 1;
  }
  if (r->checks > 0) return 0;
  /* Name the files: the specs that make no check, or every file uploaded. */
  json_t *specs = json_array(), *names = json_array();
  const char *path;
  json_t *text;
  json_object_foreach(files, path, text) {
    size_t len = strlen(path);
    json_array_append_new(len >= 9 && !strcmp(path + len - 9, "_spec.lua") ? specs : names, json_string(path));
  }
  /* The names, up to about 600 bytes (each cut at 190): the message stays
   * one readable sentence however many files were sent. */
  char list[800] = "", msg[1024];
  size_t n = 0;
  json_t *listed = json_array_size(specs) ? specs : names;
  for (size_t i = 0; i < json_array_size(listed) && n < 600; i++)
    n += (size_t)snprintf(list + n, sizeof list - n, "%s%.190s", i ? ", " : "",
                          json_string_value(json_array_get(listed, i)));
  if (n >= 600) snprintf(list + n, sizeof list - n, ", ...");
  if (json_array_size(specs))
    snprintf(msg, sizeof msg,
             "this version's specs (%s) make no check: a version comes with specs that show it works "
             "(expect steps in files ending in _spec.lua); nothing was kept",
             list);
  else
    snprintf(msg, sizeof msg,
             "this version has no specs: none of its files (%s) ends in _spec.lua; upload it with the specs that "
             "show it works (such as specs/gates_spec.lua); nothing was kept",
             list);
  json_t *extra = json_pack("{s:o, s:o}", "spec_files", specs, "files", names);
  *body = vigil__http_error_json("specs_missing", msg, "files", extra);
  json_decref(extra);
  return 1;
}

/* ---- checks off the loop ------------------------------------------------------------------ */

/* Lint and specs run the candidate's Lua, which may burn time or memory by
 * mistake or on purpose: they run in a child process (child.c: a fork, no
 * exec, with a CPU and a memory limit of its own, killed when it runs past
 * the wall-time limit). The loop answers everyone else meanwhile; the
 * child's report comes back as JSON on a pipe. */

#define MAX_UPLOAD_CHECKS 4 /* at once; more: 503 busy */

typedef struct upload_check {
  http_request *req;
  int lint; /* POST /protocols/lint: the report is the answer */
  json_t *body;
  char dir[4096];
  char actor[USER_NAME_MAX + 1];
  uint64_t started;
} upload_check;

static void keep_upload(api *a, http_request *req, const char *actor, const char *dir, json_t *files, report *r,
                        const char *ref, const char *sha);

/* In the child (a child_work): checks, and the report as JSON text. */
static char *check_text(api *a, void *ud) {
  (void)a;
  upload_check *c = ud;
  report r;
  char ref[256] = "", sha[65] = "";
  check_folder(c->dir, json_object_get(c->body, "files"), &r, ref, sizeof ref, sha);
  json_t *out = report_json(&r);
  if (out && ref[0])
    json_object_set_new(out, "ref", json_string(ref)), json_object_set_new(out, "sha256", json_string(sha));
  return out ? json_dumps(out, JSON_COMPACT) : NULL;
}

/* Back on the loop (a child_done): the answer, from the child's report. */
static void check_done(api *a, void *ud, const char *out, size_t len, int timed_out, int status) {
  upload_check *c = ud;
  http_request *req = c->req;
  a->n_uploads--;
  double secs = (double)(uv_hrtime() - c->started) / 1e9;
  json_t *got = out && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? json_loadb(out, len, 0, NULL) : NULL;
  json_t *files = json_object_get(c->body, "files");
  if (a->shutting) {
    vigil__http_respond_error(req, 503, "shutting_down", "the server is stopping; nothing was kept", NULL);
  } else if (timed_out || (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU))) {
    char msg[300];
    snprintf(msg, sizeof msg,
             "checking this version (lint and specs) took longer than the limit of %.0f s, and was stopped "
             "after %.1f s: a rule or spec that burns time? Nothing was kept",
             (double)a->upload_check_ms / 1000, secs);
    vigil__http_respond_error(req, 422, "checks_too_long", msg, "files");
  } else if (!got) {
    char msg[300];
    snprintf(msg, sizeof msg,
             "checking this version stopped (%s %d) before it finished: its memory limit, or a crash; "
             "nothing was kept",
             WIFSIGNALED(status) ? "signal" : "exit status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    vigil__http_respond_error(req, 422, "checks_stopped", msg, "files");
  } else {
    report r = {.dir = c->dir, .problems = json_incref(json_object_get(got, "problems"))};
    json_t *specs = json_object_get(got, "specs");
    r.failures = json_incref(json_object_get(specs, "failures"));
    if (!r.problems) r.problems = json_array();
    if (!r.failures) r.failures = json_array();
    r.checks = (int)json_integer_value(json_object_get(specs, "checks"));
    r.failed = (int)json_integer_value(json_object_get(specs, "failed"));
    if (!json_array_size(r.problems) && !r.failed && !json_is_string(json_object_get(got, "ref")))
      json_array_append_new(r.problems, json_pack("{s:s, s:s}", "where", "protocol.lua", "message",
                                                  "the protocol has no id and version"));
    char *refused;
    int refuses = refusal(&r, files, &refused);
    if (c->lint) {
      /* The report, and what an upload of the same files would be answered:
       * its error (422), null when it would be kept. */
      json_t *err = refused ? json_loads(refused, 0, NULL) : NULL;
      json_object_set(got, "refused", err ? json_object_get(err, "error") : json_null());
      json_decref(err);
      free(refused);
      vigil__api_reply_free(req, 200, json_dumps(got, JSON_COMPACT), NULL);
    } else if (refuses && !refused) {
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory: nothing was kept", NULL);
    } else if (refuses) {
      vigil__api_reply_free(req, 422, refused, NULL);
    } else {
      keep_upload(a, req, c->actor, c->dir, files, &r, json_string_value(json_object_get(got, "ref")),
                  json_string_value(json_object_get(got, "sha256")));
    }
    report_free(&r);
  }
  json_decref(got);
  remove_tree(c->dir); /* gone already when it was kept */
  json_decref(c->body);
  free(c);
}

/* Unpacks the body's files and starts checking them in a child process. */
static void start_check(api *a, http_request *req, const char *actor, int lint) {
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  if (a->n_uploads >= MAX_UPLOAD_CHECKS) {
    json_decref(body);
    vigil__api_reply_free(
        req, 503, vigil__http_error_json("busy", "other versions are being checked; try again shortly", NULL, NULL),
        "Retry-After: 5\r\n");
    return;
  }
  upload_check *c = calloc(1, sizeof *c);
  if (!c) {
    json_decref(body);
    vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    return;
  }
  c->req = req;
  c->lint = lint;
  c->body = body;
  snprintf(c->actor, sizeof c->actor, "%s", actor);
  json_t *files = json_object_get(body, "files");
  if (unpack(a, req, files, c->dir, sizeof c->dir) < 0) {
    json_decref(body);
    free(c);
    return;
  }
  c->started = uv_hrtime();
  if (vigil__api_child_start(a, check_text, check_done, c) < 0) {
    remove_tree(c->dir);
    json_decref(body);
    free(c);
    vigil__http_respond_error(req, 503, "busy", "cannot check the version now (no process)", NULL);
    return;
  }
  a->n_uploads++;
}

/* ---- the handlers ------------------------------------------------------------------------ */

void vigil__api_post_lint(api *a, http_request *req, const api_call *c) { start_check(a, req, c->who->name, 1); }

void vigil__api_post_protocol(api *a, http_request *req, const api_call *c) { start_check(a, req, c->who->name, 0); }

static void count_file(const char *path, void *ud) {
  (void)path;
  ++*(size_t *)ud;
}

/* The files under dir, at every depth. */
static size_t files_under(const char *dir) {
  size_t n = 0;
  walk(dir, count_file, NULL, &n);
  return n;
}

/* Whether the folder dir holds files (path: text) and nothing else. */
static int holds_exactly(const char *dir, json_t *files) {
  const char *path;
  json_t *text;
  json_object_foreach(files, path, text) {
    char full[4700];
    if (snprintf(full, sizeof full, "%s/%s", dir, path) >= (int)sizeof full) return 0;
    FILE *f = fopen(full, "rb");
    if (!f) return 0;
    size_t len = json_string_length(text);
    char *kept = malloc(len + 1);
    size_t got = kept ? fread(kept, 1, len + 1, f) : 0;
    int same = kept && got == len && !memcmp(kept, json_string_value(text), len);
    free(kept);
    fclose(f);
    if (!same) return 0;
  }
  return files_under(dir) == json_object_size(files);
}

/* A checked upload with no problem and every spec passing: kept, loaded,
 * not yet usable. */
static void keep_upload(api *a, http_request *req, const char *actor, const char *dir, json_t *files, report *r,
                        const char *ref, const char *sha) {
  lookup l;
  char final[4400];
  snprintf(final, sizeof final, "%s/%s", a->uploads_dir, ref);
  /* The fingerprint covers what the protocol loads, not its specs nor a
   * helper it does not require: an upload kept is compared file by file
   * too (AC9: a changed spec was 200, the old files kept). */
  if (find(a, ref, 0, &l) && !strcmp(l.sha256, sha) && (access(final, F_OK) != 0 || holds_exactly(final, files))) {
    /* The same sources again: nothing new. */
    get_protocol(a, req, ref);
  } else if (find(a, ref, 0, &l) || access(final, F_OK) == 0) {
    char msg[400];
    snprintf(msg, sizeof msg,
             "%s exists with other sources: a version never changes once published; give this one "
             "a new version",
             ref);
    vigil__http_respond_error(req, 409, "version_exists", msg, "files");
  } else if (rename(dir, final) < 0) {
    vigil__http_respond_error(req, 503, "io_error", "cannot keep the upload", NULL);
  } else if (vigil_engine_load(a->e, final, NULL) < 0) {
    vigil__http_respond_error(req, 422, "protocol_invalid", vigil_engine_errmsg(a->e), "files");
    remove_tree(final);
  } else {
    json_t *fields = json_pack("{s:s, s:s, s:i}", "ref", ref, "sha256", sha, "spec_checks", r->checks);
    vigil__api_site_event(a, "protocol.uploaded", actor, fields);
    json_t *list = protocols_json(a);
    json_t *p = json_deep_copy(entry_of(list, ref));
    json_decref(list);
    json_object_set_new(p, "specs", json_pack("{s:i, s:i}", "checks", r->checks, "failed", 0));
    vigil__api_hold(a, req, 201, json_dumps(p, JSON_COMPACT), NULL);
    json_decref(p);
  }
}

typedef struct approving {
  char ref[256], sha256[65], by[USER_NAME_MAX + 1];
} approving;

/* A list of changes that an approval must confirm with `member: true`: 1 when
 * the request is refused (422, answered here), 0 when it may go on. `what`
 * is the message's start, with %zu for the count and %s for its plural. */
static int confirmation_refused(http_request *req, json_t *body, const char *member, json_t *list, const char *what) {
  json_t *confirm = json_object_get(body, member);
  char msg[256];
  if (confirm && !json_is_boolean(confirm)) {
    snprintf(msg, sizeof msg, "%s is true or false", member);
    vigil__http_respond_error(req, 422, "value_refused", msg, member);
    return 1;
  }
  if (!json_array_size(list) || json_is_true(confirm)) return 0;
  char head[160];
  size_t n = json_array_size(list);
  snprintf(head, sizeof head, what, n, n == 1 ? "" : "s");
  snprintf(msg, sizeof msg, "this version %s (%s: true) to approve it", head, member);
  json_t *extra = json_pack("{s:O}", "reasons", list);
  vigil__api_reply_free(req, 422, vigil__http_error_json("confirmation_required", msg, member, extra), NULL);
  json_decref(extra);
  return 1;
}

static void approve_checked(api *a, http_request *req, int ok, void *ctx) {
  approving *x = ctx;
  if (req && !ok) {
    vigil__api_site_event(a, "auth.failed", "vigil",
                          json_pack("{s:s, s:s}", "user", x->by, "reason", "bad_signature_password"));
    vigil__api_hold(a, req, 401,
                    vigil__http_error_json("bad_password", "the password does not match: approving is a signature",
                                           "password", NULL),
                    NULL);
  } else if (req) {
    /* The approval's row is derived from its event by the store, in the
     * batch's one transaction (store_sqlite.c): neither without the other.
     * Kept here at once for the answer; a failed commit reloads them. */
    approval rec = {.at_ms = vigil_engine_now(a->e)};
    memcpy(rec.sha256, x->sha256, 65);
    snprintf(rec.by, sizeof rec.by, "%s", x->by);
    approval *grown = realloc(a->approvals, (a->n_approvals + 1) * sizeof *grown);
    if (!grown) {
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory: nothing was approved", NULL);
    } else {
      a->approvals = grown;
      a->approvals[a->n_approvals++] = rec;
      vigil__api_site_event(a, "protocol.approved", x->by, json_pack("{s:s, s:s}", "ref", x->ref, "sha256", x->sha256));
      json_t *list = protocols_json(a);
      vigil__api_hold(a, req, 200, json_dumps(entry_of(list, x->ref), JSON_COMPACT), NULL);
      json_decref(list);
    }
  }
  free(x);
}

void vigil__api_post_approve(api *a, http_request *req, const api_call *c) {
  const user *who = c->who;
  const char *want = c->text;
  lookup l;
  if (!strchr(want, '@') || !find(a, want, 0, &l)) {
    vigil__http_respond_error(req, 404, "not_found", "no such protocol version (approve names id@version)", NULL);
    return;
  }
  if (is_approved(a, l.ref, l.sha256)) {
    vigil__http_respond_error(req, 409, "wrong_state", "that version is approved already", NULL);
    return;
  }
  /* Two people: whoever uploaded a version does not approve it (V5), nor
   * does a user the uploader created or the user who created the uploader,
   * through any chain of accounts (S2: one person with a second account
   * they made, or were made by). */
  if (read_uploads(a) < 0) {
    vigil__http_respond_error(req, 503, "io_error", "the log could not be read for who uploaded this version", NULL);
    return;
  }
  const char *by = made_by(a, l.sha256, 0);
  if (!by) {
    /* No protocol.uploaded event: nobody to compare the approver with (Y1;
     * vigil serve does not start on such a folder either). */
    char msg[400];
    snprintf(msg, sizeof msg,
             "%s has no recorded uploader (no protocol.uploaded event of these sources): it cannot be approved; "
             "upload it through the API",
             l.ref);
    vigil__http_respond_error(req, 409, "no_uploader", msg, NULL);
    return;
  }
  const char *why = !by                              ? NULL
                    : !strcmp(by, who->name)         ? ""
                    : made_through(a, by, who->name) ? " and created your account (or the account that created it)"
                    : made_through(a, who->name, by) ? " and you created their account (or the account that created it)"
                                                     : NULL;
  if (!why && password_set_by(a, by, who->name))
    /* Z1: the uploader reset the approver's password (or the password of
     * whoever set it): they can sign in as the approver. */
    why = " and set your password (or the password of the admin who set it; a change of your own does not end "
          "that: a reset by another admin, or at the console with vigil user passwd, does)";
  char siblings[600];
  const char *holder = by && !why ? password_holder(a, by) : NULL;
  if (holder && !strcmp(holder, password_holder(a, who->name))) {
    /* Sibling accounts (Y4): one person chose both passwords. */
    snprintf(siblings, sizeof siblings,
             ", and %s chose the passwords of both their account and yours (a change by the account itself does not "
             "end that: a reset by another admin, or at the console with vigil user passwd, does)",
             holder);
    why = siblings;
  }
  if (why) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s uploaded %s%s: another admin approves it (two people)", by, l.ref, why);
    json_t *extra = json_pack("{s:s}", "uploaded_by", by);
    vigil__api_reply_free(req, 409, vigil__http_error_json("uploader_approves", msg, NULL, extra), NULL);
    json_decref(extra);
    return;
  }
  json_t *body = vigil__api_body_object(req);
  if (!body) return;
  /* A version that changes the prescription (a prescribed param's default,
   * range or mark) is approved only with those changes confirmed: the
   * approver has seen them (docs/safety.md, F7). */
  json_t *diff = diff_for_approval(a, req, &l);
  json_t *changes = json_object_get(diff, "prescribed");
  if (!diff) { /* answered: 503, asked again once the diff is kept */
    json_decref(body);
    return;
  }
  /* The changes to the prescription, the safety controls it removes or
   * weakens (K6), and the code no case of the diff may show weaker (AI2),
   * each need their own confirmation. */
  if (confirmation_refused(req, body, "confirm_prescribed", changes,
                           "changes the prescription (%zu prescribed param%s): confirm the changes") ||
      confirmation_refused(req, body, "confirm_weakened", json_object_get(diff, "weakened"),
                           "removes or weakens %zu safety control%s: confirm them") ||
      confirmation_refused(req, body, "confirm_code_changed", json_object_get(diff, "code_changed"),
                           "changes code in %zu place%s that no case of the diff may show weaker: read it and "
                           "confirm")) {
    json_decref(diff);
    json_decref(body);
    return;
  }
  json_decref(diff);
  const char *password;
  approving *x = NULL;
  if (vigil__api_member_string(req, body, "password", 0, &password) == 0) {
    if (!password)
      vigil__http_respond_error(req, 401, "password_required", "approving is a signature: give your password again",
                                "password");
    else if (!(x = calloc(1, sizeof *x)))
      vigil__http_respond_error(req, 503, "out_of_memory", "out of memory", NULL);
    else {
      snprintf(x->ref, sizeof x->ref, "%s", l.ref);
      memcpy(x->sha256, l.sha256, 65);
      snprintf(x->by, sizeof x->by, "%s", who->name);
      vigil__api_check_password(a, req, who->name, who, 1, password, approve_checked, x);
    }
  }
  json_decref(body);
}

/* sandbox.h: one Lua state for one protocol version.
 *
 * The state has a memory cap (its own allocator), an instruction budget on
 * every call into it (a count hook that, once tripped, fires on every
 * instruction so that pcall cannot swallow it), an allow-listed read-only
 * global environment (core/lang/lua/sandbox.lua) and the protocol language
 * (core/lang/lua/vigil.lua). Protocol files are read only from the protocol's own
 * folder, only while it loads, and only as text.
 */
#ifndef VIGIL_SANDBOX_H
#define VIGIL_SANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

/* One entry's instructions across all its calls into Lua (docs/security.md
 * AC3): the per-call budget alone let 20 rules each spend it, one entry
 * holding the server 1.4 s. The engine owns one and arms it while a command
 * or a deadline's firing runs (core/engine/evaluate.c); a call then has the
 * smaller of its own budget and what is left, and what it spends is taken
 * off. Counted in instructions, charged work included (host.charge), so the
 * same entry stops at the same rule on every run. */
typedef struct sandbox_pool {
  uint64_t size; /* instructions for one entry */
  uint64_t left; /* of the current entry */
  int armed;     /* 0: calls have their own budget only (loading, reads, lint) */
  /* One entry's wall time across its calls as well (docs/security.md AH1):
   * 20 rules each stopped at their own limit still held the loop 20 times
   * as long. 0: ENTRY_TIME_FACTOR times the first call's own limit. */
  uint64_t time_limit_ns;
  uint64_t limit_ns; /* of the current entry, set by its first call */
  uint64_t deadline; /* uv_hrtime() the current entry's calls end by; 0 until its first call (arming clears it) */
} sandbox_pool;

typedef struct sandbox {
  lua_State *L;
  size_t used, cap, peak;
  uint64_t budget;         /* instructions per call */
  uint64_t spent;          /* in the current call, charged work included */
  uint64_t call_budget;    /* of the current call: budget, or less when the entry's pool has less left */
  sandbox_pool *pool;      /* the engine's, or NULL */
  uint64_t deadline;       /* uv_hrtime() when the current call must stop */
  uint64_t started;        /* uv_hrtime() when the current call began */
  uint64_t shown_limit_ns; /* the current call's limit as its error names it (sandbox.c, default_limit_ns) */
  uint64_t time_limit_ns;  /* per call; 0: SANDBOX_TIME_LIMIT_NS (the engine sets the site's) */
  int entry_deadline;      /* the current call's deadline is its entry's (the pool's), not its own */
  /* Bytes the current call allocated that are not yet charged to its budget
   * (sandbox.c charge_allocation), and whether the count hook was asked to
   * fire at the next instruction to charge them. */
  uint64_t alloc_bytes;
  int hook_early;
  int loading; /* files may be read */
  int in_call; /* inside vigil__sandbox_call: its deadline holds */
  /* The current call has been stopped (its time or budget): the count hook
   * raised the error, and raises it again at every instruction. A message
   * handler of xpcall is then never called (host.stopped, sandbox.lua):
   * Lua calls it for an error raised in a hook while hooks are off, so
   * nothing would stop it (docs/security.md AB1). Cleared when a call begins. */
  int stopped;
  char stop_message[160];          /* the first stop's words, raised again at every instruction */
  char *dir;                       /* the protocol folder, as given */
  char realdir[4096];              /* the same, resolved: files must be inside it */
  const struct source_file *files; /* the stored sources, or NULL: the disk */
  uint32_t n_files;
  int lang_ref, sandbox_ref; /* registry refs of the two embedded modules */
  /* The table a call's record argument (a rule's reading, a score's
   * answers) is given in, emptied and filled again for each call
   * (vigil__val_push_lua_arg): LUA_NOREF until the first. */
  int arg_ref;
  uint64_t calls;
  /* A real allocation failed during the current call (the machine's memory,
   * not the cap): the host ran out of memory, which is not the protocol's
   * error. Whatever the call returned cannot be trusted (a protocol's pcall
   * may have swallowed the error); the caller fails its command instead of
   * reporting a rule error (evaluate.c). Cleared when a call begins. */
  int oom;
  /* When set, also called on every line and call of protocol code (spec
   * coverage, core/coverage.c); NULL in normal running. */
  void (*trace)(void *ud, lua_State *L, lua_Debug *ar);
  void *trace_ud;
  /* Writes to a table the protocol's code keeps (AM5), each refused: how
   * many, and the first one's "file:line: cannot set ..." (`vigil test`
   * reports it: a protocol's pcall may have swallowed the error). */
  uint32_t kept_writes;
  char kept_write[512];
} sandbox;

#define SANDBOX_DEFAULT_CAP ((size_t)32 << 20)
#define SANDBOX_DEFAULT_BUDGET 10000000ull
/* A rule takes microseconds; a call still running after this is stopped
 * (unless time_limit_ns says otherwise: a serving engine's protocols have
 * the site's limit, tens of milliseconds, vigil_options.lua_time_limit_ms). */
#define SANDBOX_TIME_LIMIT_NS (2000ull * 1000000ull)
/* An entry's calls together have this many times one call's time limit,
 * unless vigil_options.lua_entry_time_limit_ms says otherwise. */
#define ENTRY_TIME_FACTOR 4u

struct source_file;

/* Opens a sandbox for the protocol in dir. With files (n of them, paths
 * relative to dir) the protocol's files are read from those, not the disk:
 * a stored version runs exactly as it was. Returns NULL with a message in err. */
sandbox *vigil__sandbox_open(const char *dir, const struct source_file *files, uint32_t n, size_t cap, uint64_t budget,
                             char *err, size_t errlen);
void vigil__sandbox_close(sandbox *sb);

/* lua_pcall under the budget. On error, returns the Lua status and leaves a
 * message ("file:line: what", or what the cap or budget stopped) in err. */
int vigil__sandbox_call(sandbox *sb, int nargs, int nresults, char *err, size_t errlen);

/* Opens the libraries a protocol state starts from (base, string, table,
 * math, utf8, and debug for the trusted language code); the spec runner's
 * state (spec.c) starts from the same. */
void vigil__sandbox_open_libs(lua_State *L);

/* Pushes the table of the embedded language (vigil.lua's `lang`) or of the sandbox. */
void vigil__sandbox_push_lang(sandbox *sb);
void vigil__sandbox_push_env(sandbox *sb);

/* Once the protocol has loaded: makes every table its code keeps read-only
 * (sandbox.freeze in core/lang/lua/sandbox.lua, docs/security.md AM5). roots
 * is the stack index of a list of the protocol's functions the engine calls.
 * A table with a metatable of its own is refused: -1 with "file:line: ..." in
 * err (the protocol does not load). 0 when done. */
int vigil__sandbox_freeze(sandbox *sb, int roots, char *err, size_t errlen);

/* Pushes the table that holds the contents of the table at idx: what
 * vigil__sandbox_freeze moved out of it, or the table itself. For code that
 * reads a protocol's table raw (a rule's outcome), in any Lua state. */
void vigil__sandbox_push_contents(lua_State *L, int idx);

#endif

/* protocol.h: loading a protocol version into C structures (protocol_model.h).
 *
 * The Lua side (core/lang/lua/vigil.lua) checks the declarations and normalises
 * them; protocol.c copies the result into these structures once, so that the
 * engine's hot paths (validating a value, computing a due time) never touch
 * Lua. Only rules, gates, `when`, `compute` and hooks stay Lua functions,
 * held as registry references in the protocol's sandbox.
 */
#ifndef VIGIL_PROTOCOL_H
#define VIGIL_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "lang/protocol_model.h"
#include "lang/source_file.h"

typedef void (*problem_fn)(void *ud, const char *where, const char *message);

void vigil__source_files_free(source_file *files, uint32_t n);
/* A version's fingerprint: hex SHA-256 over the files sorted by their path
 * within dir, each as path, NUL, length in decimal, NUL, text. dir may be
 * NULL when the paths are relative already. out is "" when memory ran out. */
void vigil__protocol_fingerprint(const source_file *files, uint32_t n, const char *dir, char out[65]);

/* Loads and compiles the protocol at path (a folder with protocol.lua, or a
 * file). Every problem goes to fn; returns NULL if there was any. */
protocol *vigil__protocol_load(const char *path, size_t mem_cap, uint64_t budget, problem_fn fn, void *ud);
/* The same from stored sources (paths relative to dir; protocol.lua first
 * among them is the main file). The protocol takes the files. */
protocol *vigil__protocol_load_stored(const char *dir, source_file *files, uint32_t n, size_t mem_cap, uint64_t budget,
                                      problem_fn fn, void *ud);
void vigil__protocol_free(protocol *p);
/* Pushes onto p's state a list of the protocol's functions the engine calls:
 * gates and dose checks, rules, `when`, `compute`, calculations and hooks. */
void vigil__protocol_push_code(const protocol *p);
/* Lint only: runs every rule, gate, `when` and `compute` against synthetic
 * visits (lang.exercise_cases in vigil.lua); reports each failure as
 * file:line: message. The number of problems. */
int vigil__protocol_exercise(protocol *p, problem_fn fn, void *ud);

/* Resolves an item reference ("item" or "phase.item") as seen from a phase
 * (-1 for none). Returns the item index or -1. */
int vigil__protocol_find_item(const protocol *p, const char *ref, int phase);
int vigil__protocol_find_param(const protocol *p, const char *name);
const field_spec *vigil__item_find_field(const item_spec *it, const char *name);

const char *vigil__priority_name(priority p);
const char *vigil__item_kind_name(item_kind k);   /* "vitals" */
const char *vigil__field_kind_name(field_kind k); /* "number" */
int vigil__priority_parse(const char *s, priority *out);

/* The due time of occurrence k of a scheduled item, relative to phase entry,
 * or -1 when there is no such occurrence. */
int64_t vigil__schedule_due(const schedule *s, uint32_t k);

#endif

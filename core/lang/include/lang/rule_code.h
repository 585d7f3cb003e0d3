/* rule_code.h: what a protocol function's code says, read from its source.
 *
 * Shared by the engine (a failing rule's technical alert, H6), lint (a rule's
 * declared priority against what its code raises) and `vigil protocol diff`
 * (the alerts a rule's code raises, G10): one analysis, not three.
 */
#ifndef VIGIL_RULE_CODE_H
#define VIGIL_RULE_CODE_H

#include <stddef.h>

#include "base/buf.h"
#include "lang/protocol_model.h"

/* The code of a function (by registry ref) without comments or spacing, and
 * where it is ("infusion.lua:67-73"). Empty when there is no function. */
void vigil__function_code(const protocol *p, int ref, buf *code, char *where, size_t wn);

/* What a function's code can raise: each alert priority it names
 * (v.alert.high, ...) and whether it returns v.block, in its own code and in
 * every function of the protocol's files it calls (lib.spo2_low(...), a local
 * helper), followed through the names it sees (upvalues and the file's
 * globals) as far as they resolve without running anything. */
typedef struct code_raises {
  unsigned priorities; /* bit 1 << PRIORITY_x for each v.alert.x named */
  int blocks;          /* v.block: it holds the gate */
  char where[256];     /* the function raising the highest ("lib.lua:102-110") */
  int oom;             /* a function's code could not all be read (out of memory): the above is not all */
} code_raises;
void vigil__code_raises(const protocol *p, int ref, code_raises *out);

/* The code of a function and of every function of the protocol's files it
 * calls, followed as vigil__code_raises follows them, one after another,
 * comments dropped and spacing kept as one space: what `vigil protocol
 * diff` compares to say that a rule, a gate or a condition may now behave
 * otherwise though no case it tries shows it (docs/safety.md, AI2). */
void vigil__function_code_closure(const protocol *p, int ref, buf *code);
/* The highest priority in a code_raises (a block counts as high: what it
 * guards is the gate), -1 when it raises nothing. */
int vigil__code_raises_highest(const code_raises *r);

#endif

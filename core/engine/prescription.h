/* prescription.h: params as a prescription (H5) (prescription.c). Private to
 * core/engine/ (docs/architecture.md). */
#ifndef VIGIL_CORE_ENGINE_PRESCRIPTION_H
#define VIGIL_CORE_ENGINE_PRESCRIPTION_H

#include "model.h"

/* 0 when the params (a record) keep every `less_than` of p; else the error, naming both. */
int vigil__params_check_relations(vigil_engine *e, const protocol *p, val params);
/* `,"changed_params":[...]`: every param whose value is not its default. */
void vigil__changed_params_field(buf *b, const visit *v);
/* text with each {param} replaced by the visit's value (into out), or text itself. */
const char *vigil__visit_text(const visit *v, const char *text, char *out, size_t len);

#endif

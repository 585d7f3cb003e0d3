/* error.c: names and messages of the VIGIL_E* codes, from the one list in vigil.h. */
#include "vigil/vigil.h"

const char *vigil_strerror(int err) {
  switch (err) {
  case VIGIL_OK:
    return "ok";
#define VIGIL_STRERROR_(name, code, msg)                                                                               \
  case VIGIL_E##name:                                                                                                  \
    return msg;
    VIGIL_ERRNO_MAP(VIGIL_STRERROR_)
#undef VIGIL_STRERROR_
  default:
    return "unknown error";
  }
}

const char *vigil_err_name(int err) {
  switch (err) {
  case VIGIL_OK:
    return "OK";
#define VIGIL_ERRNAME_(name, code, msg)                                                                                \
  case VIGIL_E##name:                                                                                                  \
    return "E" #name;
    VIGIL_ERRNO_MAP(VIGIL_ERRNAME_)
#undef VIGIL_ERRNAME_
  default:
    return "EUNKNOWN";
  }
}

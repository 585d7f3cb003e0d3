/* errors.h: vigil's error codes, one list for the library (vigil.h) and for
 * plugins (plugin.h): a function returns 0 or one of these. Needs nothing
 * but the C preprocessor. */
#ifndef VIGIL_ERRORS_H
#define VIGIL_ERRORS_H

/* The list, from which the codes and vigil_strerror's and vigil_err_name's
 * words come. */
#define VIGIL_ERRNO_MAP(X)                                                                                             \
  X(NOMEM, -1, "out of memory")                                                                                        \
  X(INVAL, -2, "invalid argument")                                                                                     \
  X(NOENT, -3, "not found")                                                                                            \
  X(PROTOCOL, -4, "protocol error")                                                                                    \
  X(VALUE, -5, "value refused")                                                                                        \
  X(STATE, -6, "not allowed in the visit's current state")                                                             \
  X(GATE, -7, "phase gate not met")                                                                                    \
  X(IO, -8, "input/output error")                                                                                      \
  X(EXIST, -9, "already exists")                                                                                       \
  X(CLOCK, -10, "needs the simulated clock")                                                                           \
  X(BUSY, -11, "in use by another process")                                                                            \
  X(CORRUPT, -12, "damaged or not a vigil database")                                                                   \
  X(NEWER, -13, "written by a newer version of vigil")

enum {
  VIGIL_OK = 0,
#define VIGIL_ERR_ENUM_(name, code, msg) VIGIL_E##name = code,
  VIGIL_ERRNO_MAP(VIGIL_ERR_ENUM_)
#undef VIGIL_ERR_ENUM_
};

#endif

/* vigil_binary.h: where the tests find the vigil program they run. */
#ifndef VIGIL_TESTS_VIGIL_BINARY_H
#define VIGIL_TESTS_VIGIL_BINARY_H

#include <stddef.h>

/* The vigil program beside the running test's (build/tests/test_x ->
 * build/vigil) in out; 0 if it is there and executable, -1 otherwise. */
int find_vigil(char *out, size_t n);

#endif

/*
 * check.h — transitional name of confcheck.h.
 *
 * common/ is on every target's include path, so a header here called
 * check.h hides the Check unit-test framework's <check.h>.  This file
 * therefore hands <check.h> on to the next one on the path (Check's, when
 * installed) and declares check_run() through confcheck.h.  New code
 * includes "confcheck.h"; this file goes once nothing includes "check.h".
 */
#ifndef SGD_CHECK_SHIM_H
#define SGD_CHECK_SHIM_H

#if defined(__has_include_next)
#if __has_include_next(<check.h>)
#include_next <check.h>
#endif
#endif
#include "confcheck.h"

#endif

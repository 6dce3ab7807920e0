/*
 * clock.h — the monotonic clock every deadline, rate limit and event
 * stamp of sgd and sgctl is measured on (CLOCK_MONOTONIC: a settimeofday
 * does not move it).
 */
#ifndef SGD_CLOCK_H
#define SGD_CLOCK_H

/* CLOCK_MONOTONIC now, in milliseconds and in microseconds. */
long long clock_now_ms(void);
long long clock_now_us(void);

#endif

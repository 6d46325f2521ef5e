/*
 * The two clocks the daemon reads, in microseconds: CLOCK_MONOTONIC for
 * every interval, timeout and latency; CLOCK_REALTIME only for what is
 * shown to people or written to files (timestamps).
 */
#ifndef AHD_CLOCK_H
#define AHD_CLOCK_H

#include <stdint.h>

uint64_t	now_us(void);		/* CLOCK_MONOTONIC */
uint64_t	realtime_us(void);	/* CLOCK_REALTIME */

#endif

/*
 * varint.h - LEB128 unsigned varints and zigzag signed deltas, the integer
 * encoding of every trace record body (see src/trace/format.h).
 * HOOK-SAFE: pure functions on caller buffers.
 */
#ifndef HS_UTIL_VARINT_H
#define HS_UTIL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10 /* bytes of the longest u64 encoding */

/* Append v to p; return the byte after it.  p must have VARINT_MAX bytes. */
static inline uint8_t *varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Map a signed delta to an unsigned one with small magnitude first. */
static inline uint64_t zigzag_enc(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t zigzag_dec(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/*
 * Decode one varint from [*pp, end).  Return 0 and advance *pp, or -1 when
 * the input ends inside the number or it is longer than 10 bytes.
 */
static inline int varint_get(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned shift = 0;

	while (p < end && shift < 64) {
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*out = v;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

#endif

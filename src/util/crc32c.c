/*
 * crc32c.c - CRC-32C with the SSE4.2 instruction when the CPU has it, else a
 * byte table.  HOOK-SAFE.
 */
#include "util/crc32c.h"

#include <string.h>

#include "util/atomic.h"
#include "util/hooksafe.h"

static uint32_t crc_table[256];
static _Atomic int crc_mode; /* 0 unset, 1 table, 2 sse4.2 */

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & -(c & 1));
		crc_table[i] = c;
	}
	__builtin_cpu_init();
	/* release: the table is complete before any thread sees mode 1 */
	atomic_store_rel(&crc_mode, __builtin_cpu_supports("sse4.2") ? 2 : 1);
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* acquire: pairs with the release in crc32c_init; two threads racing
	 * here both compute the same table, which is harmless */
	int mode = atomic_load_acq(&crc_mode);

	if (!mode) {
		crc32c_init();
		mode = atomic_load_acq(&crc_mode);
	}
	crc = ~crc;
	if (mode == 2) {
		crc = crc32c_hw(crc, p, len);
	} else {
		while (len--)
			crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	}
	return ~crc;
}

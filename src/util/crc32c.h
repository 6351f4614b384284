/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every trace chunk.
 * HOOK-SAFE: table in .rodata, no allocation.
 */
#ifndef HS_UTIL_CRC32C_H
#define HS_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Return the CRC-32C of buf[0..len) continuing from crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif

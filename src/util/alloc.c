/*
 * alloc.c - libc's allocator as a struct hs_allocator (analyzer side).
 */
#include "util/alloc.h"

#include <stdlib.h>

static void *libc_zalloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

const struct hs_allocator hs_libc_allocator = {libc_zalloc, realloc, free};

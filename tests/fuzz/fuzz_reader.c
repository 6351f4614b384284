/*
 * fuzz_reader.c - libFuzzer target: the trace reader, with the ring file
 * recovery, on a trace and its TRACE.rings (fuzz.h).  Every item is read
 * to the end; the reader must answer a damaged file with an error, never
 * a crash, a hang, or memory out of proportion to the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "trace/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_files f;
	struct hs_diag d = {""};
	struct trace_item it;

	fuzz_split(data, size, ".rings", &f);
	struct trace_reader *r = reader_open(f.first, &d);
	if (r) {
		size_t pos;
		struct trace_module m;
		while (reader_next(r, &it) > 0)
			if (it.type == ITEM_MODULES)
				for (pos = 0; modules_next(&it, &pos, &m) > 0;)
					;
		(void)reader_truncated(r);
		(void)reader_recovered(r);
		reader_close(r);
	}
	fuzz_clean(&f);
	return 0;
}

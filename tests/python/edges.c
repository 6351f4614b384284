/*
 * Description: prints the first pointer scan of a trace, for
 * tests/python.sh: "B addr size" for each block, "E from to" (addresses of
 * the blocks' starts) for each block-to-block edge.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "trace/reader.h"

int main(int argc, char **argv)
{
	struct hs_diag d = {0};
	struct trace_reader *r = argc == 2 ? reader_open(argv[1], &d) : NULL;
	struct trace_item it;
	uint64_t *addr = NULL, n = 0, cap = 0;
	int scans = 0, rc;

	if (!r) {
		fprintf(stderr, "usage: edges TRACE (%s)\n", d.msg);
		return 2;
	}
	while ((rc = reader_next(r, &it)) > 0 && scans < 2) {
		if (it.type == ITEM_SCAN)
			scans++;
		if (scans != 1)
			continue;
		if (it.type == ITEM_SCAN_BLOCK) {
			if (n == cap && !(addr = realloc(addr, (cap = cap ? 2 * cap : 4096) * sizeof(*addr))))
				return 2;
			addr[n++] = it.block.addr;
			printf("B %" PRIx64 " %" PRIu64 "\n", it.block.addr, it.block.size);
		} else if (it.type == ITEM_SCAN_EDGE && !it.edge.from_root && it.edge.src < n && it.edge.dst < n) {
			printf("E %" PRIx64 " %" PRIx64 "\n", addr[it.edge.src], addr[it.edge.dst]);
		}
	}
	reader_close(r);
	free(addr);
	return rc < 0 ? 2 : 0;
}

/* Description: a doubly linked list of 4 nodes (sizes 96, 97, 98, 99,
 * allocated in that order) whose every pointer from outside is dropped.
 * Each node points to its neighbours both ways, so the whole list is one
 * strongly connected component: a leaked cycle of 4 blocks, 390 bytes.
 * The first allocated node (96 bytes) is definitely lost, the other three
 * indirectly.  Expected: definite 1 block, 96 bytes; indirect 3 blocks,
 * 294 bytes; 1 cycle of 4 blocks, 390 bytes, its definite member the
 * 96-byte node. */
#include <stdlib.h>

#include "leak.h"

struct dnode {
	struct dnode *next, *prev;
};

NOINLINE static void make(void)
{
	struct dnode *volatile n[4];

	for (int i = 0; i < 4; i++)
		n[i] = calloc(1, 96 + (size_t)i); /* LEAK:dnode */
	for (int i = 0; i < 4; i++) {
		n[i]->next = i < 3 ? n[i + 1] : NULL;
		n[i]->prev = i > 0 ? n[i - 1] : NULL;
	}
	for (int i = 0; i < 4; i++)
		n[i] = NULL;
}

int main(void)
{
	make();
	return 0;
}

/* Description: a complete binary tree of depth 3 (7 nodes of 56 bytes),
 * each of its 4 leaves owning a 13-byte string; the root pointer is
 * dropped.  Expected: definite 1 block (the root), 56 bytes; indirect
 * 10 blocks, 6 x 56 + 4 x 13 = 388 bytes; no cycle. */
#include <stdlib.h>
#include <string.h>

#include "leak.h"

struct tnode {
	struct tnode *left, *right;
	char *name;
	char pad[32];
};

NOINLINE static struct tnode *build(int depth)
{
	struct tnode *t = calloc(1, sizeof(*t)); /* LEAK:tnode */
	if (depth > 1) {
		t->left = build(depth - 1);
		t->right = build(depth - 1);
	} else {
		t->name = malloc(13); /* LEAK:leafname */
		strcpy(t->name, "leaf-payload");
	}
	return t;
}

NOINLINE static void make(void)
{
	struct tnode *volatile root = build(3);
	root = NULL;
	(void)root;
}

int main(void)
{
	make();
	return 0;
}

/* Description: singly linked lists.
 *   A: 5 nodes of 72 bytes, the head pointer dropped: the head is
 *      definitely lost, the 4 nodes after it indirectly lost.
 *   B: 5 nodes of 88 bytes; a global keeps a pointer to the third node
 *      only: nodes 3-5 are still reachable, node 1 definitely lost and
 *      node 2 (reached only from node 1) indirectly lost.
 * Expected: definite 2 blocks, 72 + 88 = 160 bytes; indirect 5 blocks,
 * 4 x 72 + 88 = 376 bytes; reachable 3 blocks, 264 bytes; no cycle. */
#include <stdlib.h>

#include "leak.h"

struct node72 {
	struct node72 *next;
	char pad[64];
};
struct node88 {
	struct node88 *next;
	char pad[80];
};

struct node88 *volatile g_middle;

NOINLINE static struct node72 *new72(void)
{
	struct node72 *n = calloc(1, sizeof(*n)); /* LEAK:node72 */
	return n;
}

NOINLINE static void list_a(void)
{
	struct node72 *volatile head = NULL;

	for (int i = 0; i < 5; i++) {
		struct node72 *n = new72();
		n->next = head;
		head = n;
	}
	head = NULL;
}

NOINLINE static void list_b(void)
{
	struct node88 *volatile nodes[5];

	for (int i = 0; i < 5; i++)
		nodes[i] = calloc(1, sizeof(struct node88)); /* LEAK:node88 */
	for (int i = 0; i < 4; i++)
		nodes[i]->next = nodes[i + 1];
	g_middle = nodes[2];
	for (int i = 0; i < 5; i++)
		nodes[i] = NULL;
}

int main(void)
{
	list_a();
	list_b();
	return 0;
}

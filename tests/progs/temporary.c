/* Description: temporary allocations (heaptrack's measure: a block freed
 * before the thread that allocated it allocates again), with the numbers
 * known by line:
 *   line TEMP     1000 blocks freed at once: 1000 temporary
 *   line DOUBLE   a double buffer, each block freed after the next one is
 *                 allocated: 0 temporary
 *   line KEPT     200 blocks kept to the end: 0
 *   line GROW     a block grown by realloc before anything else: 1 (the
 *                 old block), and the grown block (line GROWN) freed
 *                 after another allocation: 0
 *   line CROSS    a thread's last allocation, freed by main after the
 *                 thread ended: 1
 * The test finds the lines by their markers in this file. */
#include <pthread.h>
#include <stdlib.h>

static void *volatile sink;

static void *worker(void *arg)
{
	(void)arg;
	return malloc(24); /* CROSS */
}

int main(void)
{
	void *kept[200], *prev = NULL, *q;
	pthread_t t;

	for (int i = 0; i < 1000; i++) {
		void *p = malloc(32); /* TEMP */
		sink = p;
		free(p);
	}
	for (int i = 0; i < 300; i++) {
		void *cur = malloc(48); /* DOUBLE */
		free(prev);
		prev = cur;
	}
	for (int i = 0; i < 200; i++)
		kept[i] = malloc(16); /* KEPT */
	free(prev); /* not DOUBLE's latest any more: KEPT allocated since */
	q = malloc(8);	    /* GROW */
	q = realloc(q, 64); /* GROWN */
	sink = malloc(8);   /* KEPT */
	free(q);
	void *x;
	if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, &x))
		return 1;
	free(x);
	sink = kept[0];
	return 0;
}

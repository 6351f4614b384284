/* Description: sites whose live sizes follow known patterns across 10
 * snapshots taken through the API, for `top --growth`: a noisy leak that
 * grows in 7 of 9 intervals (one flat, one dip), a leak that starts after
 * 4 snapshots of start-up, a steady leak, and three that are no leaks: an
 * oscillation, a cache that fills in 3 intervals and stays full, and one
 * allocation in the last interval.  Blocks (count of each site's blocks
 * live at each snapshot):
 *   noisy   0 2 4 4 6 8 7 9 11 13   (500 B each)
 *   late    0 0 0 0 1 2 3 4 5 6     (700 B)
 *   steady  1 2 3 4 5 6 7 8 9 10    (300 B)
 *   osc     0 4 0 4 0 4 0 4 0 4     (900 B)
 *   fill    0 3 6 9 9 9 9 9 9 9     (400 B)
 *   once    0 0 0 0 0 0 0 0 0 5     (600 B) */
#include <stdlib.h>

#include "heapsnap.h"

#define NSNAP 10

struct site {
	void *blocks[16];
	int n;
};

static __attribute__((noinline)) void *noisy_alloc(void) { return malloc(500); }
static __attribute__((noinline)) void *late_alloc(void) { return malloc(700); }
static __attribute__((noinline)) void *steady_alloc(void) { return malloc(300); }
static __attribute__((noinline)) void *osc_alloc(void) { return malloc(900); }
static __attribute__((noinline)) void *fill_alloc(void) { return malloc(400); }
static __attribute__((noinline)) void *once_alloc(void) { return malloc(600); }

/* Allocate or free (last first) until s has want blocks. */
static void adjust(struct site *s, int want, void *(*alloc)(void))
{
	while (s->n < want)
		s->blocks[s->n++] = alloc();
	while (s->n > want)
		free(s->blocks[--s->n]);
}

int main(void)
{
	static const int noisy[NSNAP] = {0, 2, 4, 4, 6, 8, 7, 9, 11, 13}, late[NSNAP] = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6},
			 steady[NSNAP] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, osc[NSNAP] = {0, 4, 0, 4, 0, 4, 0, 4, 0, 4},
			 fill[NSNAP] = {0, 3, 6, 9, 9, 9, 9, 9, 9, 9}, once[NSNAP] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
	static struct site s[6];

	for (int i = 0; i < NSNAP; i++) {
		adjust(&s[0], noisy[i], noisy_alloc);
		adjust(&s[1], late[i], late_alloc);
		adjust(&s[2], steady[i], steady_alloc);
		adjust(&s[3], osc[i], osc_alloc);
		adjust(&s[4], fill[i], fill_alloc);
		adjust(&s[5], once[i], once_alloc);
		heapsnap_snapshot("step");
	}
	return 0;
}

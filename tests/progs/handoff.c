/*
 * handoff - blocks allocated by one thread and freed by another, both ways.
 *
 * Two threads each allocate `n` blocks (sizes 16..1039) and pass them to
 * the other through a single-producer/single-consumer queue; the receiver
 * frees them.  The main thread then allocates KEPT blocks of 100 bytes and
 * keeps them in a global array (still reachable at exit).  A tracer that
 * takes a free before the allocation of its block reports an unknown free
 * and leaves the block live for good: the exact live count at exit tells.
 *
 * usage: handoff [n]     (default 300000)
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define QUEUE 4096
#define KEPT 3

struct queue {
	_Alignas(64) atomic_ulong head; /* advanced by the receiver */
	_Alignas(64) atomic_ulong tail; /* advanced by the sender */
	_Alignas(64) void *slot[QUEUE];
};

static struct queue to_b, to_a;
static long nblocks = 300000;
void *kept[KEPT];

static void push(struct queue *q, void *p)
{
	unsigned long t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	while (t - atomic_load_explicit(&q->head, memory_order_acquire) == QUEUE)
		sched_yield();
	q->slot[t % QUEUE] = p;
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
}

/* Free what the other thread sent so far; return how many. */
static long drain(struct queue *q)
{
	unsigned long h = atomic_load_explicit(&q->head, memory_order_relaxed);
	unsigned long t = atomic_load_explicit(&q->tail, memory_order_acquire);
	for (unsigned long i = h; i < t; i++)
		free(q->slot[i % QUEUE]);
	atomic_store_explicit(&q->head, t, memory_order_release);
	return (long)(t - h);
}

struct side {
	struct queue *out, *in;
	unsigned seed;
};

static void *run_side(void *arg)
{
	struct side *s = arg;
	long sent = 0, freed = 0;

	while (sent < nblocks || freed < nblocks) {
		for (int k = 0; k < 64 && sent < nblocks; k++, sent++) {
			s->seed = s->seed * 1103515245u + 12345u;
			unsigned char *p = malloc(16 + (s->seed >> 16) % 1024);
			if (!p)
				abort();
			p[0] = (unsigned char)sent;
			push(s->out, p);
		}
		freed += drain(s->in);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nblocks = atol(argv[1]);
	struct side a = {&to_b, &to_a, 1}, b = {&to_a, &to_b, 2};
	pthread_t ta, tb;
	if (pthread_create(&ta, NULL, run_side, &a) || pthread_create(&tb, NULL, run_side, &b))
		return 1;
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	for (int i = 0; i < KEPT; i++)
		kept[i] = malloc(100);
	printf("%ld blocks each way\n", nblocks);
	return 0;
}

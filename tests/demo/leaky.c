/*
 * Description: the demo program of `make demo`: a small "service" that
 * caches requests, forgets to free some of them, and leaks a reference
 * cycle, from two threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapsnap.h"

struct request {
	char *path;	      /* owned */
	struct request *next; /* in the cache */
};

struct node {
	struct node *peer; /* forms a cycle with another node */
	char payload[48];
};

static struct request *cache;

static struct request *request_new(const char *path)
{
	struct request *r = malloc(sizeof(*r));
	r->path = strdup(path);
	r->next = NULL;
	return r;
}

/* Caches every request; drops the cache head without freeing its path:
 * one leaked string per call. */
static void handle(const char *path)
{
	struct request *r = request_new(path);
	r->next = cache;
	cache = r;
	if (cache->next) {
		struct request *old = cache->next;
		cache->next = old->next;
		free(old); /* BUG: old->path leaks */
	}
}

static void make_cycle(void)
{
	struct node *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	a->peer = b;
	b->peer = a; /* nothing else points at a or b: a leaked cycle */
}

static void *worker(void *arg)
{
	char path[64];
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/api/%s/%d", (const char *)arg, i);
		handle(path);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;

	heapsnap_snapshot("start");
	worker("main");
	heapsnap_snapshot("after-main");
	pthread_create(&t, NULL, worker, "thread");
	pthread_join(t, NULL);
	make_cycle();
	heapsnap_snapshot("end");
	printf("handled 200 requests\n");
	return 0;
}

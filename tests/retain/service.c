/* Description: a small service for tests/retain.sh.  A global hash table
 * of sessions, g_sessions (chained buckets, grown by doubling), each
 * session a linked list of buffers; a second structure, a log list, that
 * is freed; a reference cycle of two peers leaked in the second phase.
 * Three phases each add four sessions, then print what the program knows
 * of its own structures ("phase N ...") and wait for a line on stdin,
 * while tests/retain.sh has the shim scan the heap (scan_signal).  The
 * allocation sites are the lines marked SITE:name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buffer { /* 64 bytes */
	struct buffer *next;
	char data[56];
};

struct session { /* 48 bytes */
	struct session *next; /* the bucket's chain */
	struct buffer *bufs;
	unsigned id;
	char user[28];
};

struct table {
	size_t n, cap;
	struct session **slots; /* at offset 16 */
};

struct log_entry { /* 32 bytes */
	struct log_entry *next;
	char text[24];
};

struct peer { /* 32 bytes */
	struct peer *other;
	char pad[24];
};

struct table g_sessions;
static struct log_entry *g_log;

static size_t bucket_of(unsigned id, size_t cap)
{
	return (id * 2654435761u >> 7) & (cap - 1);
}

static struct buffer *buffer_new(struct buffer *next)
{
	struct buffer *b = malloc(sizeof(*b)); /* SITE:buffer */
	memset(b->data, 'b', sizeof(b->data));
	b->next = next;
	return b;
}

static struct session *session_new(unsigned id)
{
	struct session *s = calloc(1, sizeof(*s)); /* SITE:session */
	s->id = id;
	snprintf(s->user, sizeof(s->user), "user%u", id);
	for (unsigned i = 0; i < id % 3 + 1; i++)
		s->bufs = buffer_new(s->bufs);
	return s;
}

static void table_grow(struct table *t)
{
	size_t cap = t->cap ? 2 * t->cap : 4;
	struct session **slots = calloc(cap, sizeof(*slots)); /* SITE:table */
	for (size_t i = 0; i < t->cap; i++)
		while (t->slots[i]) {
			struct session *s = t->slots[i];
			t->slots[i] = s->next;
			size_t b = bucket_of(s->id, cap);
			s->next = slots[b];
			slots[b] = s;
		}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

static void table_add(struct table *t, struct session *s)
{
	if (t->n >= t->cap)
		table_grow(t);
	size_t b = bucket_of(s->id, t->cap);
	s->next = t->slots[b];
	t->slots[b] = s;
	t->n++;
}

static void log_add(const char *what)
{
	struct log_entry *e = malloc(sizeof(*e)); /* SITE:log */
	snprintf(e->text, sizeof(e->text), "%s", what);
	e->next = g_log;
	g_log = e;
}

static void log_free(void)
{
	while (g_log) {
		struct log_entry *e = g_log;
		g_log = e->next;
		free(e);
	}
}

static void leak_cycle(void)
{
	struct peer *a = malloc(sizeof(*a)); /* SITE:peer_a */
	struct peer *b = malloc(sizeof(*b)); /* SITE:peer_b */
	a->other = b;
	b->other = a;
}

/* Zero the stack below the caller and the registers a call may leave
 * as they were, so that no dead frame or stale register keeps a pointer
 * the scan would take for a live one (the scan may come while the program
 * is still printing its report). */
static void __attribute__((noinline)) scrub(void)
{
	volatile char pad[16384];
	memset((char *)pad, 0, sizeof(pad));
	__asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\txor %%esi, %%esi\n\t"
			 "xor %%edi, %%edi\n\txor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\t"
			 "xor %%r11d, %%r11d"
			 ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
}

/* What the program knows: the counts, the buckets' offsets in use in the
 * slot array, the longest bucket chain. */
static void report(int phase)
{
	size_t buffers = 0, lo = (size_t)-1, hi = 0, chain = 0;

	for (size_t i = 0; i < g_sessions.cap; i++) {
		size_t len = 0;
		for (struct session *s = g_sessions.slots[i]; s; s = s->next, len++)
			for (struct buffer *b = s->bufs; b; b = b->next)
				buffers++;
		if (len && i * 8 < lo)
			lo = i * 8;
		if (len && i * 8 > hi)
			hi = i * 8;
		if (len > chain)
			chain = len;
	}
	printf("phase %d sessions %zu buffers %zu table_bytes %zu bucket_min %zu bucket_max %zu chain %zu\n", phase,
	       g_sessions.n, buffers, g_sessions.cap * sizeof(struct session *), lo, hi, chain);
	fflush(stdout);
}

static int wait_line(void)
{
	char c;
	ssize_t n;

	while ((n = read(0, &c, 1)) == 1 && c != '\n')
		;
	return n == 1;
}

static void phase(int k)
{
	if (k == 2) {
		leak_cycle();
		log_free();
	}
	for (unsigned i = 0; i < 4; i++)
		table_add(&g_sessions, session_new(4 * (unsigned)(k - 1) + i));
	if (k == 1)
		for (int i = 0; i < 10; i++)
			log_add("started");
}

int main(void)
{
	for (int k = 1; k <= 3; k++) {
		phase(k);
		scrub();
		report(k);
		if (!wait_line() && k < 3)
			return 1;
	}
	return 0;
}

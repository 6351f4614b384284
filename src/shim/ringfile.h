/*
 * ringfile.h - the shim's side of TRACE.rings: create it, carve segments
 * out of it, remove it at a clean end.
 * HOOK-SAFE: system calls only, on slow paths (a new thread, a new stack
 * segment), under the ring file's own lock.
 */
#ifndef HS_SHIM_RINGFILE_H
#define HS_SHIM_RINGFILE_H

#include <stddef.h>
#include <stdint.h>

/* Create path (replacing a stale file) and write its header.  Return 0 or
 * -errno. */
int ringfile_create(const char *path, uint64_t nonce);

/* Map a new segment of the given type and size (bytes, header included,
 * rounded up to pages) and fill in its header.  Return it or NULL. */
void *ringfile_map(uint32_t type, size_t bytes);

/* The process is done writing seg (from ringfile_map) and will read it
 * seldom: give its pages back to the file.  They stay in the page cache
 * (the file's, written back and reclaimable like any file's), and a later
 * access maps them again with a minor fault; the process no longer holds
 * them in its resident set.  No-op for a segment in memory only. */
void ringfile_unload(void *seg);

/* The file's device and inode, as /proc/self/maps shows them. */
struct ringfile_id {
	uint32_t dev_major, dev_minor; /* st_dev */
	uint64_t inode;		       /* st_ino */
};

/* Is the file of this device and inode (as /proc/self/maps shows them)
 * the ring file, or the ring file of a process this one was forked from
 * (whose segments may still be mapped here)?  Takes no lock: safe with
 * the world stopped. */
int ringfile_is_ours(uint32_t dev_major, uint32_t dev_minor, uint64_t inode);

/* Remove the file (the trace is complete); mappings stay valid.
 * keep_open (before an exec): the descriptor stays open, so that if the
 * exec fails new rings can still be carved out of the file, which then
 * has no name for a reader to recover a crash from; a successful exec
 * closes it (O_CLOEXEC). */
void ringfile_unlink(int keep_open);

/* In a forked child: forget the parent's file without touching it; the
 * parent's segments stay mapped until the caller unmaps them. */
void ringfile_forget(void);

/* fork(): take / release the lock (prepare / parent). */
void ringfile_lock(void);
void ringfile_unlock(void);

#endif

/*
 * hooksafe.h - make the names hook code must never use fail to compile.
 * HOOK-SAFE.
 *
 * Every HOOK-SAFE file includes this header last: from here on, a call to
 * the traced heap's allocator, to stdio or to a lock that can be held
 * across a call out of the shim is a compile error ("attempt to use
 * poisoned ...").  tests/hooksafe.py checks the rest from the objects:
 * every function a hook can reach, in any file, and every symbol outside
 * the shim those functions use (src/shim/hooksafe.allow).
 *
 * The files that define or forward the allocation functions (hooks.c,
 * hooks_cxx.c, backing.c) define HS_HOOKSAFE_ALLOCATOR first: they must
 * name malloc and free; the object check covers them.
 */
#ifndef HS_UTIL_HOOKSAFE_H
#define HS_UTIL_HOOKSAFE_H

#ifndef HS_HOOKSAFE_ALLOCATOR
/* The traced heap: the program's allocator (or ours, re-entered). */
#pragma GCC poison malloc calloc realloc reallocarray free posix_memalign aligned_alloc memalign valloc pvalloc
#endif
/* Functions that allocate from the heap behind the caller's back. */
#pragma GCC poison strdup strndup asprintf vasprintf open_memstream qsort getline getdelim
/* stdio: locks, buffers on the heap, not async-signal-safe. */
#pragma GCC poison printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf vdprintf
#pragma GCC poison puts fputs putc fputc putchar fwrite fread fgets fgetc getc fflush fopen fdopen fclose
#pragma GCC poison perror strerror setvbuf scanf fscanf sscanf
/* Locks a signal handler or a nested hook could find held. */
#pragma GCC poison pthread_mutex_lock pthread_mutex_trylock pthread_mutex_timedlock pthread_cond_wait
#pragma GCC poison pthread_cond_timedwait pthread_rwlock_rdlock pthread_rwlock_wrlock pthread_once
/* The loader: its lock, and dlerror's calloc. */
#pragma GCC poison dlopen dlclose dladdr dlinfo

#endif

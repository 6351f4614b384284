/*
 * intercept.h - the wrappers of exit, _exit, _Exit, the exec family,
 * dlclose, pthread_setspecific, pthread_key_delete and __libc_start_main
 * (intercept.c).
 */
#ifndef HS_SHIM_INTERCEPT_H
#define HS_SHIM_INTERCEPT_H

/* Find the definitions the wrappers forward to.  Call once from the
 * constructor (not hook-safe: it takes the loader's lock); a wrapper that
 * runs earlier finds its own. */
void intercept_resolve(void);

/* pthread_key_delete calls so far (relaxed); a thread's own
 * pthread_setspecific calls are tls.key_sets. */
extern _Atomic uint32_t intercept_key_deletes;

#endif

/* Description: unit tests of src/shim/dynsym.c against glibc's own
 * dlsym: the same address for every function the shim resolves (plain,
 * versioned with a hidden old version, IFUNC), NULL for a missing name,
 * and the calling thread's pending dlerror message left as it was. */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <string.h>

#include "check_suites.h"
#include "shim/dynsym.h"

/* What the shim resolves (intercept.c, backing.c, hooks_cxx.c), plus
 * names that exercise the lookup: strlen and memcpy are IFUNCs in glibc,
 * pthread_cond_init and glob have an older, hidden version
 * listed before their default one (another function). */
static const char *const next_names[] = {
	"__libc_start_main", "exit", "_exit", "_Exit", "execve", "execvpe", "fexecve", "dlclose",
	"malloc", "calloc", "realloc", "free", "posix_memalign", "malloc_usable_size", "_Znwm",
	"_Znam", "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t", "strlen", "memcpy", "pthread_cond_init", "glob",
};

START_TEST(next_is_dlsyms_next)
{
	const char *name = next_names[_i];
	void *want = dlsym(RTLD_NEXT, name);

	ck_assert_msg(want != NULL, "dlsym(RTLD_NEXT, %s) found nothing", name);
	ck_assert_msg(dynsym_next(name) == want, "%s: dynsym_next %p, dlsym %p", name, dynsym_next(name), want);
}
END_TEST

START_TEST(hidden_version_skipped)
{
	void *old = dlvsym(RTLD_NEXT, "pthread_cond_init", "GLIBC_2.2.5");

	ck_assert_ptr_nonnull(old);
	ck_assert_ptr_ne(dynsym_next("pthread_cond_init"), old);
}
END_TEST

START_TEST(any_finds_libstdcxx)
{
	void *want = dlsym(RTLD_DEFAULT, "_ZN9__gnu_cxx9__freeresEv");

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_eq(dynsym_any("_ZN9__gnu_cxx9__freeresEv"), want);
	ck_assert_ptr_eq(dynsym_any("getpid"), dlsym(RTLD_DEFAULT, "getpid"));
}
END_TEST

START_TEST(missing_is_null)
{
	ck_assert_ptr_null(dynsym_any("heapsnap_no_such_symbol"));
	ck_assert_ptr_null(dynsym_next("heapsnap_no_such_symbol"));
	ck_assert_ptr_null(dynsym_any(""));
}
END_TEST

/* The regression behind this module: a lookup must not consume, replace
 * or free the program's pending dlerror message. */
START_TEST(dlerror_state_untouched)
{
	(void)dlerror();
	ck_assert_ptr_null(dlsym(RTLD_DEFAULT, "program_probes_a_plugin_symbol"));
	ck_assert_ptr_nonnull(dynsym_next("exit"));
	ck_assert_ptr_null(dynsym_any("heapsnap_no_such_symbol"));
	const char *msg = dlerror();
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "program_probes_a_plugin_symbol") != NULL, "dlerror() says: %s", msg);
	ck_assert_ptr_null(dlerror());
}
END_TEST

Suite *dynsym_suite(void)
{
	Suite *s = suite_create("dynsym");
	TCase *tc = tcase_create("lookup");

	tcase_add_loop_test(tc, next_is_dlsyms_next, 0, (int)(sizeof(next_names) / sizeof(next_names[0])));
	tcase_add_test(tc, hidden_version_skipped);
	tcase_add_test(tc, any_finds_libstdcxx);
	tcase_add_test(tc, missing_is_null);
	tcase_add_test(tc, dlerror_state_untouched);
	suite_add_tcase(s, tc);
	return s;
}

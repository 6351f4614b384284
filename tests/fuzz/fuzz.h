/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz share: the input
 * becomes files (a trace, and maybe its ring file or a second trace) in a
 * private directory under /dev/shm, because the reader and the analyses
 * take paths, as the command does.
 *
 * Input layout: u32 n (little-endian), then n bytes of the first file,
 * then the rest: the second file.  An input shorter than 4 bytes, or
 * whose n runs past its end, is the first file alone.
 */
#ifndef HS_TESTS_FUZZ_H
#define HS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The two files' paths: fuzz_split writes them; a part that is empty is
 * not written (and the file does not exist). */
struct fuzz_files {
	char first[256];
	char second[256];
	int has_second;
};

/* Write data as the target's files; second_suffix names the second file
 * after the first (".rings"), or NULL for a file of its own.  Aborts if
 * the files cannot be written: the fuzzer must not mistake that for a
 * finding. */
void fuzz_split(const uint8_t *data, size_t size, const char *second_suffix, struct fuzz_files *f);

/* A stream to /dev/null for the renderers' output, opened once; aborts
 * if it cannot be opened (not a finding). */
FILE *fuzz_devnull(void);

/* Remove the files (the reader may have consumed a ring file). */
void fuzz_clean(const struct fuzz_files *f);

#endif

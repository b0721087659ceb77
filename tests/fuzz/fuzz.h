/*
 * fuzz.h — what every fuzz target (tests/fuzz/fuzz-*.c) defines and what
 * they share.  A target is built twice: with clang and libFuzzer
 * (`make fuzz`, build-fuzz/fuzz/fuzz-NAME), and with the normal compiler
 * and tests/fuzz/replay.c as its main (build/fuzz/replay-NAME), which runs
 * the committed corpus and regression inputs in `make check`
 * (tests/t0900-fuzz-regressions.sh).  docs/fuzzing.md says more.
 */
#ifndef VF_FUZZ_H
#define VF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry points (replay.c calls them the same way). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A stream for the output a target exercises but nobody reads. */
static inline FILE *fuzz_null(void)
{
	static FILE *null;

	if (!null && !(null = fopen("/dev/null", "w")))
		abort();
	return null;
}

#endif

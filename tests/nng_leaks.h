// For a test program whose own process leaks what nng 1.5 parks (see
// docs/design.md, "Living with nng 1.5"): LeakSanitizer's hook, which it
// calls when present and only then, suppressing leaks allocated inside
// libnng for this process only (the daemons it starts never see it).
// libnng is stripped, so its module is the narrowest name a suppression
// can match; a leak allocated without an nng frame in the stack is still
// reported.  Include it in one file of the program: it defines the hook.
#ifndef LLMCOST_NNG_LEAKS_H
#define LLMCOST_NNG_LEAKS_H

const char *__lsan_default_suppressions(void)
    __attribute__((visibility("default"), used));
const char *
__lsan_default_suppressions(void)
{
	return ("leak:libnng.so.1\n");
}

#endif // LLMCOST_NNG_LEAKS_H

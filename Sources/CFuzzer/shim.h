// libFuzzer's driver entry (linked only by `-sanitize=fuzzer`, i.e. in Launch/fuzz.sh's build).
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#!/usr/bin/env bash
# The unit tests under a sanitizer, in a release build (the -Ounchecked hot loops, the C shims and the unsafe
# buffer code as they ship), in their own scratch path .build-SANITIZER:
#   Launch/sanitize.sh address     every unit test but the mpiexec ones (AddressSanitizer, leaks not checked:
#                                  the Swift runtime's caches look like leaks to LSan)
#   Launch/sanitize.sh undefined   the same tests (UndefinedBehaviorSanitizer on the C code the Swift code calls)
#   Launch/sanitize.sh thread      the in-process multi-rank tests: LocalGroup runs ranks on threads (ThreadSanitizer)
# Extra arguments go to `swift test`. Exits non-zero on any sanitizer report or failed test.
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
kind=${1:?usage: Launch/sanitize.sh address|undefined|thread [swift test options]}; shift
case "$kind" in
  address|undefined) select=(--skip 'MultiRankTests|DarknetTests/fuzz\(|darknetReferenceHeads|convertedKeepsAccuracy|YOLODecodeTests/matchesDarknet') ;;
  thread) select=(--filter 'InvarianceTests|InProcessRanks|DiagnosticsTests|EventsTests|EvaluationTests') ;;
  *) echo "sanitize: unknown sanitizer '$kind' (address, undefined, thread)" >&2; exit 2 ;;
esac
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TSAN_OPTIONS=halt_on_error=1
# MPICH's UCX patches mmap at load time, which crashes a sanitized process before main: leave mmap alone.
export UCX_MEM_MMAP_HOOK_MODE=none UCX_MEM_MALLOC_HOOKS=no
# swiftc on Linux has no -sanitize=undefined: UBSan instruments the C code (libyaml, the shims' inline
# functions) through clang, and links its runtime through the clang linker driver.
flags=(--sanitize="$kind")
[ "$kind" = undefined ] && flags=(-Xcc -fsanitize=undefined -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined)
swift build -c release --build-tests "${flags[@]}" --scratch-path ".build-$kind"
swift test -c release --skip-build "${flags[@]}" --scratch-path ".build-$kind" "${select[@]}" "$@"

import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Which kernels OpenBLAS runs: a figure of every ANN timing. Debian 12's OpenBLAS (0.3.21) does not recognise some
/// recent CPUs (seen: an AVX-512 Xeon) and falls back to kernels without AVX2, which makes the ANN reference 2-4x slower
/// than the machine allows; `Launch/env.sh` sets `OPENBLAS_CORETYPE=Haswell` on AVX2 machines to prevent it.
public enum BLASInfo {
    /// The kernel set OpenBLAS chose at start-up (`openblas_get_corename`), e.g. "Haswell", "SkylakeX", "Prescott".
    public static var core: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's names of kernel sets without AVX2.
    static let withoutAVX2: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "sandybridge",
                                           "katmai", "coppermine", "northwood", "banias", "opteron", "athlon", "barcelona",
                                           "bobcat", "bulldozer", "piledriver", "steamroller", "excavator"]

    /// A warning when OpenBLAS runs kernels without AVX2 on a CPU that has AVX2 and FMA; nil otherwise.
    public static var fallbackWarning: String? {
        let name = core
        guard withoutAVX2.contains(name.lowercased()), cpuHasAVX2AndFMA else { return nil }
        return "OpenBLAS runs its \(name) kernels on this AVX2 CPU (it does not recognise the CPU model, or OPENBLAS_CORETYPE chose them), so the ANN reference is slower than the machine allows and rounds differently from other machines; set OPENBLAS_CORETYPE=Haswell before starting (Launch/env.sh does)"
    }

    /// True if /proc/cpuinfo lists the avx2 and fma flags.
    public static var cpuHasAVX2AndFMA: Bool {
        guard let f = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil, cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0, let l = line {
            let s = String(cString: l)
            guard s.hasPrefix("flags") else { continue }
            let flags = Set(s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            return flags.contains("avx2") && flags.contains("fma")
        }
        return false
    }
}

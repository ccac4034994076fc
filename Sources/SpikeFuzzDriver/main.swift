import Foundation
import SpikeCore
import SpikeData
import SpikeFuzz
#if FUZZING
import CFuzzer
#endif

/// `spikescale-fuzz`: the fuzz targets' driver. Built by `Launch/fuzz.sh` with `-sanitize=fuzzer,address -DFUZZING`,
/// it is libFuzzer on the target named by SPIKESCALE_FUZZ_TARGET (all libFuzzer flags apply; `list` prints the targets). A plain build
/// replays files: `spikescale-fuzz TARGET FILE...` prints each file's verdict; `spikescale-fuzz jpeg-seed IN OUT`
/// writes a 24x24 copy of a JPEG for the seed corpus.
let environmentTarget = ProcessInfo.processInfo.environment["SPIKESCALE_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:))
if ProcessInfo.processInfo.environment["SPIKESCALE_FUZZ_TARGET"] == "list" {
    print(FuzzTarget.allCases.map(\.rawValue).joined(separator: "\n"))
    exit(0)
}

#if FUZZING
/// libFuzzer's set-up: the target must be named; the ceilings are lowered so that inputs reach the parsers'
/// logic instead of allocating a GiB of zeros (the ceilings are the same code at any value; LimitsTests
/// checks the defaults).
@_cdecl("LLVMFuzzerInitialize")
func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    guard environmentTarget != nil else {
        FileHandle.standardError.write(Data("set SPIKESCALE_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
        exit(2)
    }
    var limits = InputLimits()
    limits.tensorElements = 1 << 22; limits.imagePixels = 1 << 22; limits.decompressedBytes = 1 << 26
    InputLimits.current = limits
    return 0
}

/// One input for libFuzzer.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    environmentTarget!.run(size == 0 ? Data() : Data(bytes: data!, count: size))
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) })
#else
let args = Array(CommandLine.arguments.dropFirst())
if args.count == 3 && args[0] == "jpeg-seed" {
    let image = try JPEG.decode(path: args[1])
    try JPEG.encode(Letterbox.resize(image, width: 24, height: 24), quality: 75).write(to: URL(fileURLWithPath: args[2]))
    exit(0)
}
guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
    print("usage: spikescale-fuzz TARGET FILE... (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
    exit(2)
}
for f in args.dropFirst() {
    let d = try Data(contentsOf: URL(fileURLWithPath: f))
    print("\(f): \(target.run(d))")
}
#endif

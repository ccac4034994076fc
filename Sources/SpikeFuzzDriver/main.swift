import Foundation
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
guard environmentTarget != nil else {
    FileHandle.standardError.write(Data("set SPIKESCALE_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
    exit(2)
}
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    environmentTarget!.run(Data(bytes: data!, count: size))
    return 0
})
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

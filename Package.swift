// swift-tools-version:6.0
import PackageDescription

// Hot loops (spike scatter, neuron update) rely on the vector units: build for x86-64-v3
// (AVX2 + FMA) on x86_64 unless SPIKESCALE_PORTABLE is set when building.
#if arch(x86_64)
let cpuFlags: [SwiftSetting] = Context.environment["SPIKESCALE_PORTABLE"] == nil
    ? [.unsafeFlags(["-target-cpu", "haswell"]), .define("SPIKESCALE_AVX2")] : []
#else
let cpuFlags: [SwiftSetting] = []
#endif
let fast: [SwiftSetting] = cpuFlags + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
// The two programs link the Swift runtime and Foundation statically on Linux: one binary that runs on a cluster
// node without the toolchain, and 5-6 MB less resident memory per rank (a shared library's relocated and touched
// pages are per process; Benchmarks/RESULTS.md, "Spike emission, max-pool gate, view assembly and a static runtime").
// Not `swift build --static-swift-stdlib`: that flag applies to every product, and the test bundle must keep the
// dynamic runtime XCTest is built against. Linking only these two targets statically leaves their modules compiled
// for the dynamic runtime, so Foundation's static archives and their dependencies are named here, in one group the
// linker searches until nothing is left unresolved (this toolchain's swift_static/linux archives).
let staticLibraries = ["Foundation", "FoundationEssentials", "FoundationInternationalization", "CoreFoundation",
                        "_FoundationICU", "_FoundationCShims", "_FoundationCollections", "swiftSynchronization", "stdc++"]
let staticRuntime: [LinkerSetting] = [.unsafeFlags(
    ["-static-stdlib", "-Xlinker", "--start-group"] + staticLibraries.flatMap { ["-Xlinker", "-l" + $0] } + ["-Xlinker", "--end-group"],
    .when(platforms: [.linux]))]

let package = Package(
    name: "SpikeScale",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "spikescale", targets: ["spikescale"]),
        .executable(name: "spikescale-bench", targets: ["SpikeBench"]),
        .executable(name: "spikescale-fuzz", targets: ["SpikeFuzzDriver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "mpich",
                       providers: [.apt(["libmpich-dev", "mpich"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CFuzzer", path: "Sources/CFuzzer"),
        // HDF5 for NIR files (Debian's serial build; its pkg-config name is hdf5-serial).
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),
        .target(name: "SpikeCore", swiftSettings: fast),
        // Header-only C: AVX2 lane permutations the engine's spike emission uses (Swift's SIMD types have no
        // run-time shuffle).
        .target(name: "CSpikeSIMD", path: "Sources/CSpikeSIMD"),
        .target(name: "SpikeEngine", dependencies: ["SpikeCore", "CSpikeSIMD"], swiftSettings: fast),
        .target(name: "SpikeMPI", dependencies: ["CMPI", "SpikeEngine"], swiftSettings: fast),
        .target(name: "SpikeANN", dependencies: ["SpikeCore", "CBLAS"], swiftSettings: fast),
        .target(name: "SpikeImport", dependencies: ["SpikeCore", "CHDF5", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                swiftSettings: fast),
        .target(name: "SpikeConvert", dependencies: ["SpikeCore", "SpikeANN", "SpikeImport"], swiftSettings: fast),
        .target(name: "SpikeMetrics", dependencies: ["SpikeCore"], swiftSettings: fast),
        .target(name: "SpikeData", dependencies: ["SpikeCore", "SpikeMetrics", "CZlib", "CTurboJPEG"], swiftSettings: fast),
        .target(name: "SpikeTrain", dependencies: ["SpikeCore", "SpikeEngine", "SpikeData", "CBLAS"], swiftSettings: fast),
        .target(name: "SpikeAggregate", dependencies: ["SpikeCore", "SpikeEngine", "SpikeMetrics", "SpikeConvert", "SpikeTrain"], swiftSettings: fast),
        .target(name: "SpikeReport", dependencies: ["SpikeCore", "SpikeMetrics", "SpikeAggregate", "SpikeConvert", "SpikeTrain"], swiftSettings: fast),
        .target(name: "SpikeOptions", dependencies: ["SpikeCore", "SpikeEngine", "SpikeConvert", "SpikeMetrics", "SpikeTrain",
                                                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                    .product(name: "Yams", package: "Yams")], swiftSettings: fast),
        .target(name: "SpikeRun", dependencies: ["SpikeCore", "SpikeEngine", "SpikeANN", "SpikeConvert", "SpikeData", "SpikeImport", "SpikeMetrics",
                                                "SpikeAggregate", "SpikeOptions"],
                swiftSettings: fast),
        .executableTarget(name: "spikescale", dependencies: [
            "SpikeCore", "SpikeEngine", "SpikeMPI", "SpikeANN", "SpikeConvert", "SpikeData", "SpikeImport", "SpikeRun", "SpikeMetrics", "SpikeAggregate", "SpikeReport", "SpikeOptions",
            "SpikeTrain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast, linkerSettings: staticRuntime),
        .executableTarget(name: "SpikeBench", dependencies: [
            "SpikeCore", "SpikeEngine", "SpikeMPI", "SpikeANN", "SpikeData", "SpikeRun", "SpikeOptions",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Benchmarks/SpikeBench", swiftSettings: fast, linkerSettings: staticRuntime),
        // The parsers' fuzz targets (Launch/fuzz.sh builds the driver with -sanitize=fuzzer,address -DFUZZING).
        .target(name: "SpikeFuzz", dependencies: ["SpikeCore", "SpikeData", "SpikeImport", "SpikeAggregate", "SpikeOptions", "SpikeTrain"],
                swiftSettings: cpuFlags),
        .executableTarget(name: "SpikeFuzzDriver", dependencies: ["SpikeFuzz", "SpikeCore", "SpikeData", "CFuzzer"], swiftSettings: cpuFlags),
        // Paths, the mpiexec harness, typed result readers and test tags, shared by the test targets.
        .target(name: "TestSupport", dependencies: ["SpikeAggregate", "SpikeConvert"], path: "Tests/TestSupport",
                swiftSettings: cpuFlags),
        .testTarget(name: "SpikeScaleTests", dependencies: [
            "TestSupport", "SpikeCore", "SpikeEngine", "SpikeANN", "SpikeConvert", "SpikeData", "SpikeImport", "SpikeMetrics", "SpikeAggregate", "SpikeRun",
            "SpikeFuzz", "SpikeTrain",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["Reference"], swiftSettings: cpuFlags),
        .testTarget(name: "ReportTests", dependencies: ["SpikeReport", "SpikeAggregate", "SpikeConvert", "SpikeCore", "SpikeMetrics", "SpikeTrain"],
                    swiftSettings: cpuFlags),
        .testTarget(name: "OptionsTests", dependencies: [
            "SpikeOptions", "SpikeRun", "SpikeAggregate", "SpikeCore", "SpikeEngine", "SpikeConvert", "SpikeMetrics", "SpikeData",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: cpuFlags),
        .testTarget(name: "MultiRankTests", dependencies: ["TestSupport", "SpikeAggregate", "SpikeMetrics", "SpikeANN"],
                    swiftSettings: cpuFlags),
    ]
)

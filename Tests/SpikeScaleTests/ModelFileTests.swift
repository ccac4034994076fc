import Foundation
import Testing
import TestSupport
import SpikeCore
import SpikeConvert

@Suite("Native model format")
struct ModelFileTests {
    @Test("Round trip keeps every layer, parameter and neuron model")
    func roundTrip() throws {
        let net = try ModelZooNetworks.branchy()
        let path = TestPaths.tempDir() + "/branchy.json"
        try ModelFile.write(net, to: path)
        let back = try ModelFile.read(path)
        #expect(back.layers.count == net.layers.count && back.outputs == net.outputs)
        for (a, b) in zip(net.layers, back.layers) {
            #expect(a.name == b.name && a.op == b.op && a.inputs == b.inputs && a.shape == b.shape && a.neuron == b.neuron)
            #expect(a.weights.map(\.bitPattern) == b.weights.map(\.bitPattern) && a.bias == b.bias)
        }
    }

    func expectError(_ path: String, contains: [String]) {
        do { _ = try ModelFile.read(path); Issue.record("\(path) was accepted") } catch let e as SpikeError {
            for c in contains { #expect(e.message.contains(c), "'\(e.message)' should mention '\(c)'") }
        } catch { Issue.record("unexpected error type \(error)") }
    }

    @Test("Malformed, truncated and inconsistent model files give one clear error each")
    func badFiles() throws {
        let net = try ModelZooNetworks.mnist()
        let dir = TestPaths.tempDir()
        let path = dir + "/m.json"
        try ModelFile.write(net, to: path)
        let json = try String(contentsOfFile: path, encoding: .utf8)
        let bin = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.bin"))
        func variant(_ name: String, json j: String? = nil, bin b: Data? = nil) throws -> String {
            let p = dir + "/\(name).json"
            try (j ?? json).replacingOccurrences(of: "\"m.bin\"", with: "\"\(name).bin\"").write(toFile: p, atomically: true, encoding: .utf8)
            try (b ?? bin).write(to: URL(fileURLWithPath: dir + "/\(name).bin"))
            return p
        }
        expectError(try variant("trunc", bin: bin.prefix(bin.count - 7)), contains: ["trunc.bin", "weightsBytes", "truncated"])
        expectError(try variant("half", json: String(json.prefix(json.count / 2))), contains: ["half.json"])
        expectError(try variant("ver", json: json.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 9")), contains: ["version", "9"])
        expectError(try variant("shape", json: json.replacingOccurrences(of: "\"shape\" : [\n        14,\n        14,\n        16\n      ]", with: "\"shape\" : [\n        14,\n        13,\n        16\n      ]")),
                    contains: ["pool1", "14x13x16", "does not match"])
        expectError(try variant("key", json: json.replacingOccurrences(of: "\"groups\"", with: "\"gruops\"")), contains: ["unknown field 'gruops'"])
        expectError(try variant("op", json: json.replacingOccurrences(of: "\"op\" : \"flatten\"", with: "\"op\" : \"flaten\"")), contains: ["'flaten'", "known ops"])
        expectError(try variant("input", json: json.replacingOccurrences(of: "\"pool2\"\n      ],", with: "\"nope\"\n      ],")), contains: ["input 'nope'"])
        expectError(dir + "/missing.json", contains: ["missing.json", "cannot read"])
        // Random mutations of the JSON never crash the reader.
        var g = Philox(seed: 11)
        let bytes = Array(json.utf8)
        for trial in 0..<200 {
            var m = bytes
            for k in 0..<3 { m[Int(g.uniform(trial, k) * Float(m.count - 1))] = UInt8(32 + Int(g.uniform(trial, k + 10) * 90)) }
            let p = try variant("fuzz", json: String(decoding: m, as: UTF8.self))
            _ = try? ModelFile.read(p)
            g = Philox(seed: 11)
        }
    }
}

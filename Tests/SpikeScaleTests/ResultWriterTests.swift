import Foundation
import Testing
import TestSupport
import SpikeEngine
import SpikeAggregate

@Suite("The samples file")
struct ResultWriterTests {
    static func identity() -> RunIdentity {
        RunIdentity(fingerprint: "abc", config: SimulationConfig(timesteps: 4), model: "m.json", data: "synthetic")
    }

    @Test("A record's outputs, written straight into the file in pieces, are the bytes JSONEncoder gives, and read back bit for bit")
    func outputsAsTheEncoderWritesThem() throws {
        let dir = TestPaths.tempDir("spikescale-writer")
        let path = "\(dir)/r.json"
        // Integral, fractional, tiny, huge, negative zero, and enough values to cross the 1 MB flush several times.
        var big = [Float](repeating: 0, count: 300_000)
        for i in big.indices { big[i] = Float(i % 977) / 7 - 50 }
        let outputs: [[Float]] = [[1, 0.5, -2.25, 1e-7, 3.4028235e38, -0.0, 0.1, 16_777_216], [], big]
        let record = SampleRecord(sample: 3, label: 1, prediction: 2, outputs: outputs, spikes: 10, synapticOps: 20, analogMacs: 30,
                                  busiestStepSpikes: 4, layers: [[1, 2, 3, 4, 5]], seconds: 0.25)
        let w = try ResultWriter(jsonPath: path, identity: Self.identity(), resume: false, overwrite: true)
        try w.append(record)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let expected = try enc.encode(record)
        let lines = try Data(contentsOf: URL(fileURLWithPath: path + ".samples.jsonl")).split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 2)
        #expect(Data(lines[1]) == expected, "the record's line differs from JSONEncoder's")
        let back = try ResultWriter.readSamplesFile(path + ".samples.jsonl").records
        #expect(back.count == 1 && back[0].outputs.map { $0.map(\.bitPattern) } == outputs.map { $0.map(\.bitPattern) })
    }

    @Test("Records of every shape (optional fields, counters, seconds of any size) are written as JSONEncoder writes them")
    func recordsAsTheEncoderWritesThem() throws {
        let dir = TestPaths.tempDir("spikescale-writer")
        let path = "\(dir)/r.json"
        let w = try ResultWriter(jsonPath: path, identity: Self.identity(), resume: false, overwrite: true)
        var records = [SampleRecord]()
        for (k, seconds) in [0.25, 1e-05, 3.0, 123456789.125, 0.000123456789, 1e21, 7.62939453125e-06].enumerated() {
            records.append(SampleRecord(sample: k, label: k % 2 == 0 ? k : nil, prediction: k % 3 == 0 ? nil : -k,
                                        outputs: [[Float(k) / 3, -1, 0]], spikes: Int64(k) << 40, synapticOps: -5, analogMacs: 0,
                                        busiestStepSpikes: 9, layers: k == 0 ? [] : [[1, -2, 3], []], seconds: seconds,
                                        annPrediction: k % 2 == 1 ? 4 : nil, checkpointPredictions: k > 3 ? [1, 2] : nil,
                                        checkpointCounters: k > 4 ? [[Int64.max, Int64.min]] : nil))
        }
        for r in records { try w.append(r) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let lines = try Data(contentsOf: URL(fileURLWithPath: path + ".samples.jsonl")).split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == records.count + 1)
        for (r, line) in zip(records, lines.dropFirst()) {
            let expected = try enc.encode(r)
            #expect(Data(line) == expected, "sample \(r.sample): \(String(decoding: line, as: UTF8.self)) against \(String(decoding: expected, as: UTF8.self))")
        }
    }

    @Test("Resuming a file whose last line a killed run left unfinished cuts that line and appends after the last whole record")
    func resumeCutsAPartialLine() throws {
        let dir = TestPaths.tempDir("spikescale-writer")
        let path = "\(dir)/r.json"
        let w = try ResultWriter(jsonPath: path, identity: Self.identity(), resume: false, overwrite: true)
        func record(_ s: Int) -> SampleRecord {
            SampleRecord(sample: s, outputs: [[Float(s)]], spikes: 1, synapticOps: 1, analogMacs: 0, busiestStepSpikes: 1, layers: [], seconds: 0.1)
        }
        try w.append(record(0))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + ".samples.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Array(#"{"analogMacs":0,"busiestStepSpikes":1,"layers":[],"outputs":[[1,"#.utf8))
        try handle.close()
        let resumed = try ResultWriter(jsonPath: path, identity: Self.identity(), resume: true, overwrite: false)
        #expect(resumed.previous.map(\.sample) == [0])
        try resumed.append(record(1))
        let back = try ResultWriter.readSamplesFile(path + ".samples.jsonl").records
        #expect(back.map(\.sample) == [0, 1])
    }
}

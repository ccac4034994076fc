import Foundation
import Testing
import TestSupport
import SpikeEngine
import SpikeAggregate
import SpikeMetrics

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
        try Self.expectLinesAsTheEncoderWrites(records, path: path)
    }

    /// The samples file of `path` holds its header and then `records`, each line the bytes `JSONEncoder` (sorted keys) gives.
    static func expectLinesAsTheEncoderWrites(_ records: [SampleRecord], path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let lines = try Data(contentsOf: URL(fileURLWithPath: path + ".samples.jsonl")).split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == records.count + 1)
        for (r, line) in zip(records, lines.dropFirst()) {
            let expected = try enc.encode(r)
            #expect(Data(line) == expected, "sample \(r.sample): \(String(decoding: line.prefix(400), as: UTF8.self)) against \(String(decoding: expected.prefix(400), as: UTF8.self))")
        }
    }

    @Test("Detector records (detections at T, at checkpoints and the ANN's, empty lists, scores and boxes of any size) are written as JSONEncoder writes them, and read back bit for bit")
    func detectionRecordsAsTheEncoderWritesThem() throws {
        let dir = TestPaths.tempDir("spikescale-writer")
        let path = "\(dir)/r.json"
        let w = try ResultWriter(jsonPath: path, identity: Self.identity(), resume: false, overwrite: true)
        func det(_ k: Int) -> Detection {
            Detection(image: k, classID: k * 7 % 80, box: Box(x: Float(k) * 0.1, y: -0.0, w: 1e-7 * Float(k + 1), h: 416), score: 1 / Float(k + 3))
        }
        var records = [SampleRecord]()
        for k in 0..<5 {
            var r = SampleRecord(sample: k, outputs: [[Float(k) / 3, 2, -0.5], (0..<2000).map { Float($0) / 9 }], spikes: 1, synapticOps: 2,
                                 analogMacs: 3, busiestStepSpikes: 4, layers: [[1, 0, 2, 0, 5]], seconds: 0.125)
            r.detections = k == 1 ? [] : (0..<k + 1).map(det)
            if k > 1 { r.checkpointDetections = [[det(k)], [], (0..<3).map(det)] }
            if k % 2 == 0 { r.annDetections = [det(9), det(k)] }
            if k == 3 { r.checkpointPredictions = [0, 1]; r.annPrediction = 2; r.label = 1; r.prediction = 0 }
            records.append(r)
        }
        for r in records { #expect(ResultWriter.writesByHand(r)); try w.append(r) }
        try Self.expectLinesAsTheEncoderWrites(records, path: path)
        let back = try ResultWriter.readSamplesFile(path + ".samples.jsonl").records
        #expect(back.map { $0.detections?.map(\.score.bitPattern) } == records.map { $0.detections?.map(\.score.bitPattern) })
        // A NaN score goes through the encoder, whose error names it.
        var bad = records[0]
        bad.detections = [Detection(image: 0, classID: 0, box: Box(x: 0, y: 0, w: 1, h: 1), score: .nan)]
        #expect(!ResultWriter.writesByHand(bad))
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

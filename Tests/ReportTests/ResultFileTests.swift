import Foundation
import Testing
import SpikeAggregate
import SpikeCore

@Suite struct ResultFileTests {
    /// The error `body` throws, as a SpikeError message.
    func message(_ body: () throws -> Any) -> String? {
        do { _ = try body(); return nil } catch let e as SpikeError { return e.message } catch { return "not a SpikeError: \(error)" }
    }

    @Test func everyKindIsWrittenWithToolKindAndVersion() throws {
        let dir = try Samples.tempDir("kinds")
        let files = [("run", try Samples.write(Samples.run(), "run.json", in: dir)),
                     ("sweep", try Samples.write(Samples.sweep(), "sweep.json", in: dir)),
                     ("ann", try Samples.write(Samples.ann(), "ann.json", in: dir)),
                     ("conversion", try Samples.write(Samples.conversion(), "snn.report.json", in: dir))]
        for (kind, path) in files {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            #expect(object["kind"] as? String == kind)
            #expect(object["tool"] as? String == "spikescale")
            #expect(object["version"] as? Int == ResultFile.version)
            #expect(try ResultFile.load(path).kind.rawValue == kind)
        }
        // Run results keep the old name of the version for older readers.
        let run = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files[0].1))) as! [String: Any]
        #expect(run["resultVersion"] as? Int == 1)
    }

    @Test func loadsEachKindWithItsValues() throws {
        let dir = try Samples.tempDir("values")
        guard case .run(let r) = try ResultFile.load(try Samples.write(Samples.run(), "a.json", in: dir)) else { Issue.record("not a run"); return }
        #expect(r.network == "net" && r.spikes == 600 && r.layers.map(\.name) == ["input", "conv1", "fc"])
        guard case .sweep(let s) = try ResultFile.load(try Samples.write(Samples.sweep(), "s.json", in: dir)) else { Issue.record("not a sweep"); return }
        #expect(s.rows.count == 4 && s.rows[1].top1 == 0.8)
        guard case .ann(let a) = try ResultFile.load(try Samples.write(Samples.ann(), "n.json", in: dir)) else { Issue.record("not an ANN result"); return }
        #expect(a.top1 == 0.95 && a.parameters == 187_500)
        guard case .conversion(let c) = try ResultFile.load(try Samples.write(Samples.conversion(), "c.json", in: dir)) else {
            Issue.record("not a conversion report"); return
        }
        #expect(c.layers.first?.channelMax == [4, 0.25, 2] && c.norm == "channel")
    }

    @Test func filesFromBeforeKindAndVersionAreRecognisedByTheirKeys() throws {
        let dir = try Samples.tempDir("old")
        let run = try Samples.writeWithout(Samples.run(), keys: ["kind", "version"], "old-run.json", in: dir)
        guard case .run(let r) = try ResultFile.load(run) else { Issue.record("old run result not recognised"); return }
        #expect(r.kind == "run" && r.version == 1 && r.samples == 2)
        let conv = try Samples.writeWithout(Samples.conversion(), keys: ["tool", "kind", "version"], "old.report.json", in: dir)
        guard case .conversion(let c) = try ResultFile.load(conv) else { Issue.record("old conversion report not recognised"); return }
        #expect(c.kind == "conversion" && c.tool == "spikescale" && c.version == 1 && c.calibrationSamples == 20)
        let sweep = try Samples.writeWithout(Samples.sweep(), keys: ["version"], "old-sweep.json", in: dir)
        guard case .sweep(let s) = try ResultFile.load(sweep) else { Issue.record("old sweep not recognised"); return }
        #expect(s.version == 1 && s.rows.count == 4)
        let ann = try Samples.writeWithout(Samples.ann(), keys: ["version"], "old-ann.json", in: dir)
        guard case .ann(let a) = try ResultFile.load(ann) else { Issue.record("old ANN result not recognised"); return }
        #expect(a.version == 1 && a.samples == 20)
    }

    @Test func errorsNameThePathAndWhatIsWrong() throws {
        let dir = try Samples.tempDir("errors")
        func file(_ name: String, _ text: String) throws -> String {
            let p = (dir as NSString).appendingPathComponent(name)
            try Data(text.utf8).write(to: URL(fileURLWithPath: p))
            return p
        }
        let notJSON = try file("bad.json", "{ not json")
        #expect(message { try ResultFile.load(notJSON) } == "\(notJSON): not JSON (parse error)")
        let empty = try file("empty.json", "")
        #expect(message { try ResultFile.load(empty) } == "\(empty): not JSON (empty file)")
        let array = try file("array.json", "[1, 2]")
        #expect(message { try ResultFile.load(array) } == "\(array): not a JSON object, so not a known kind of result file")
        let unknown = try file("banana.json", #"{"kind": "banana", "tool": "spikescale"}"#)
        #expect(message { try ResultFile.load(unknown) } == "\(unknown): unknown kind \"banana\" (known: \"run\", \"sweep\", \"ann\", \"conversion\", \"training\")")
        let noKind = try file("other.json", #"{"hello": 1}"#)
        #expect(message { try ResultFile.load(noKind) }?.hasPrefix("\(noKind): not a known kind of result file") == true)
        let missing = try Samples.writeWithout(Samples.run(), keys: ["layers"], "no-layers.json", in: dir)
        #expect(message { try ResultFile.load(missing) } == "\(missing): looks like a run result but field 'layers' is missing")
        let nested = try file("sweep-bad-row.json", #"{"tool": "spikescale", "kind": "sweep", "complete": true, "model": "m", "data": "d", "samples": 1, "ranks": 1, "energyPreset": "p", "grid": {"timesteps": [], "thresholdScale": [], "norm": [], "encoder": [], "decoding": []}, "rows": [{"norm": "layer"}]}"#)
        #expect(message { try ResultFile.load(nested) } == "\(nested): looks like a sweep but field 'rows[0].thresholdScale' is missing")
        let newer = try file("newer.json", #"{"kind": "sweep", "version": 7}"#)
        #expect(message { try ResultFile.load(newer) }?.contains("format version 7: this build reads version 1") == true)
        let absent = (dir as NSString).appendingPathComponent("absent.json")
        #expect(message { try ResultFile.load(absent) } == "\(absent): no such file")
        #expect(message { try ResultFile.load(dir) } == "\(dir): is a directory, not a result file")
    }

    @Test func runResultRefusesOtherKinds() throws {
        let sweep = ResultFile.Content.sweep(Samples.sweep())
        #expect(message { try sweep.runResult(path: "s.json") } == "s.json: is a sweep, not a run result (`simulate --json`)")
        #expect(try ResultFile.Content.run(Samples.run()).runResult(path: "r.json").samples == 2)
    }
}

import Foundation
import SpikeCore
import SpikeData
import Testing
import TestSupport

private let coco8 = TestPaths.sharedData + "/coco8/images"

private func tempFile(_ name: String, _ data: Data) throws -> String {
    let path = TestPaths.tempDir("spikescale-image") + "/" + name
    try data.write(to: URL(fileURLWithPath: path))
    return path
}

/// The error a decode throws, or nil when it succeeds.
private func decodeError(_ body: () throws -> RGBImage) -> SpikeError? {
    do { _ = try body(); return nil } catch let e as SpikeError { return e } catch {
        Issue.record("expected a SpikeError, got \(error)"); return nil
    }
}

@Suite("Image input") struct ImageTests {
    /// Sizes from the JPEG headers (`file` on each image).
    static let cocoSizes: [String: (Int, Int)] = [
        "train/000000000009.jpg": (640, 480), "train/000000000025.jpg": (640, 426),
        "train/000000000030.jpg": (640, 428), "train/000000000034.jpg": (640, 425),
        "val/000000000036.jpg": (481, 640), "val/000000000042.jpg": (640, 478),
        "val/000000000049.jpg": (381, 500), "val/000000000061.jpg": (640, 488),
    ]

    @Test func coco8ImagesDecode() throws {
        for (name, (w, h)) in Self.cocoSizes.sorted(by: { $0.key < $1.key }) {
            let im = try JPEG.decode(path: coco8 + "/" + name)
            #expect(im.width == w && im.height == h, "\(name): \(im.width)x\(im.height), expected \(w)x\(h)")
            #expect(im.pixels.count == w * h * 3)
            #expect(im.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
            // A real photograph: not constant.
            #expect(Set(im.pixels.prefix(30_000)).count > 10, "\(name) looks blank")
        }
    }

    @Test func imageFolderListsAndLetterboxes() throws {
        let folder = try ImageFolder(folder: coco8 + "/val")
        #expect(folder.files.map { ($0 as NSString).lastPathComponent }
                == ["000000000036.jpg", "000000000042.jpg", "000000000049.jpg", "000000000061.jpg"])
        let x = try folder.image(2, width: 160, height: 128)
        #expect(x.count == 160 * 128 * 3)
        // 381x500 into 160x128: scaled to 97x128, centred; columns left of (160-97)/2 stay 0.5.
        #expect(x[0] == 0.5 && x[(64 * 160 + 30) * 3 + 1] == 0.5)
        #expect(x[(64 * 160 + 80) * 3] != 0.5 || x[(64 * 160 + 80) * 3 + 1] != 0.5)
        #expect(x == Letterbox.darknet(try JPEG.decode(path: folder.files[2]), width: 160, height: 128))
        #expect(throws: SpikeError.self) { try folder.image(4, width: 16, height: 16) }
    }

    @Test func imageFolderExtensionsAreCaseInsensitive() throws {
        let real = try Data(contentsOf: URL(fileURLWithPath: coco8 + "/val/000000000049.jpg"))
        let a = try tempFile("b.JPG", real)
        let dir = (a as NSString).deletingLastPathComponent
        try real.write(to: URL(fileURLWithPath: dir + "/a.Jpeg"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: dir + "/c.txt"))
        let folder = try ImageFolder(folder: dir)
        #expect(folder.files.map { ($0 as NSString).lastPathComponent } == ["a.Jpeg", "b.JPG"])
    }

    @Test func imageFolderErrors() throws {
        let missing = NSTemporaryDirectory() + "spikescale-no-such-folder-\(UInt32.random(in: 0...UInt32.max))"
        do { _ = try ImageFolder(folder: missing); Issue.record("missing folder accepted") } catch let e as SpikeError {
            #expect(e.message.contains(missing) && e.message.contains("no such"), "\(e.message)")
        }
        let text = try tempFile("readme.txt", Data("hello".utf8))
        let empty = (text as NSString).deletingLastPathComponent
        do { _ = try ImageFolder(folder: empty); Issue.record("folder without images accepted") } catch let e as SpikeError {
            #expect(e.message.contains(empty) && e.message.contains("no .jpg"), "\(e.message)")
        }
    }

    @Test func notAJPEGIsOneClearError() throws {
        let path = try tempFile("x.jpg", Data("this is not a JPEG, just some text\n".utf8))
        let e = decodeError { try JPEG.decode(path: path) }
        #expect(e != nil)
        #expect(e?.message.hasPrefix(path + ":") == true, "\(e?.message ?? "")")
        print("non-JPEG: \(e?.message ?? "")")
    }

    @Test func truncatedJPEGIsOneClearError() throws {
        let real = try Data(contentsOf: URL(fileURLWithPath: coco8 + "/train/000000000009.jpg"))
        let path = try tempFile("cut.jpg", real.prefix(500))
        let e = decodeError { try JPEG.decode(path: path) }
        #expect(e != nil)
        #expect(e?.message.hasPrefix(path + ":") == true, "\(e?.message ?? "")")
        print("truncated: \(e?.message ?? "")")
        // Cut in the middle of the entropy-coded data: turbojpeg only warns; still an error here.
        let half = decodeError { try JPEG.decode(data: real.prefix(real.count / 2), name: "half.jpg") }
        #expect(half?.message.hasPrefix("half.jpg:") == true, "\(half?.message ?? "decoded")")
        print("half: \(half?.message ?? "")")
    }

    @Test func emptyFileIsOneClearError() throws {
        let path = try tempFile("empty.jpg", Data())
        let e = decodeError { try JPEG.decode(path: path) }
        #expect(e?.message.hasPrefix(path + ":") == true, "\(e?.message ?? "")")
        let missing = decodeError { try JPEG.decode(path: path + ".missing") }
        #expect(missing?.message.hasPrefix(path + ".missing:") == true, "\(missing?.message ?? "")")
    }

    /// Seeded mutations (byte flips, truncations, splices) of a real JPEG: decode either succeeds
    /// with a consistent image or throws a SpikeError; it never crashes.
    @Test func fuzzedJPEGsNeverCrash() throws {
        let real = [UInt8](try Data(contentsOf: URL(fileURLWithPath: coco8 + "/val/000000000049.jpg")))
        var rng = SplitMix(0x5EED_F022)
        func next() -> UInt64 { rng.next() }
        func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        var decoded = 0, failed = 0
        for iteration in 0..<200 {
            var b = real
            switch iteration % 4 {
            case 0:   // flip a few bytes, biased towards the headers
                for _ in 0..<(1 + below(8)) {
                    let at = below(4) == 0 ? below(min(b.count, 700)) : below(b.count)
                    b[at] = UInt8(truncatingIfNeeded: next())
                }
            case 1:   // truncate anywhere
                b = Array(b.prefix(below(b.count)))
            case 2:   // corrupt the header area and truncate
                for _ in 0..<(1 + below(4)) { b[below(min(b.count, 700))] ^= UInt8(1 << below(8)) }
                b = Array(b.prefix(700 + below(b.count - 700)))
            default:  // splice: repeat or drop a chunk
                let from = below(b.count), len = below(2000)
                let chunk = b[from..<min(b.count, from + len)]
                let at = below(b.count)
                if below(2) == 0 { b.insert(contentsOf: chunk, at: at) } else { b.removeSubrange(from..<min(b.count, from + len)) }
            }
            do {
                let im = try JPEG.decode(data: Data(b), name: "fuzz\(iteration).jpg")
                #expect(im.pixels.count == im.width * im.height * 3)
                decoded += 1
            } catch let e as SpikeError {
                #expect(e.message.hasPrefix("fuzz\(iteration).jpg:"))
                failed += 1
            }
        }
        print("fuzz: \(decoded) decoded, \(failed) rejected")
        #expect(decoded + failed == 200)
    }

    @Test func resizeMatchesDarknetFormulas() {
        // 3x2 image, one channel varying: checks w_scale = (im.w-1)/(w-1), last column copied.
        var px = [Float](repeating: 0, count: 3 * 2 * 3)
        for y in 0..<2 { for x in 0..<3 { px[(y * 3 + x) * 3] = Float(x) + 10 * Float(y) } }
        let r = Letterbox.resize(RGBImage(width: 3, height: 2, pixels: px), width: 5, height: 3)
        let row0 = (0..<5).map { r.pixels[$0 * 3] }
        #expect(row0 == [0, 0.5, 1, 1.5, 2])
        let col0 = (0..<3).map { r.pixels[($0 * 5) * 3] }
        #expect(col0 == [0, 5, 10])
        // Degenerate sizes do not trap.
        #expect(Letterbox.resize(RGBImage(width: 3, height: 2, pixels: px), width: 1, height: 1).pixels.count == 3)
        #expect(Letterbox.darknet(RGBImage(width: 3, height: 2, pixels: px), width: 1, height: 7).count == 21)
    }

    /// THE KEY CHECK: our letterbox of dog.jpg equals Darknet's own `letterbox_image(im, 320, 320)`
    /// (dumped by Benchmarks/reference/darknet_heads.c through Debian's libdarknet).
    @Test func letterboxMatchesDarknet() throws {
        let dir = try ProcessInfo.processInfo.environment["DARKNET_REFERENCE_DIR"] ?? dumpDarknetReference()
        let d = try Data(contentsOf: URL(fileURLWithPath: dir + "/input_chw.f32"))
        let chw = d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let (w, h) = (320, 320)
        try #require(chw.count == w * h * 3)
        var ref = [Float](repeating: 0, count: w * h * 3)
        for c in 0..<3 { for y in 0..<h { for x in 0..<w { ref[(y * w + x) * 3 + c] = chw[(c * h + y) * w + x] } } }
        let ours = Letterbox.darknet(try JPEG.decode(path: "/usr/share/darknet/data/dog.jpg"), width: w, height: h)
        var maxDiff: Float = 0, differing = 0
        for i in ref.indices {
            let e = abs(ref[i] - ours[i])
            maxDiff = max(maxDiff, e)
            if e > 1e-6 { differing += 1 }
        }
        print("letterbox vs Darknet: max |diff| = \(maxDiff), \(differing) of \(ref.count) values differ (> 1e-6)")
        #expect(maxDiff <= 1e-5)
    }
}

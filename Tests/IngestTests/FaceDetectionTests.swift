import EmoCFG
import Foundation
import Ingest
import TestSupport
import XCTest

/// Face search on real faces: NASA's public-domain astronaut portrait composited into small videos
/// at known boxes (Tests/Fixtures/_faces, made by scripts/make-face-fixtures.py; faces.json holds the
/// boxes), searched with dlib's HOG detector in-process; and the ingest face pass over those videos:
/// precedence of dataset and sidecar boxes, the cache, a detector-version change, `faces: off`.
final class FaceDetectionTests: XCTestCase {
    static let faces = fixturesRoot.appendingPathComponent("_faces")

    struct Manifest: Decodable {
        struct Box: Decodable { var x, y, w, h: Double }
        struct Window: Decodable { var start, end: Double }
        struct Clip: Decodable {
            var file: String
            var width: Double
            var height: Double
            var faces: [Box]
            var main: Int?
            var window: Window?
            var kind: String
        }
        var clips: [Clip]
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: faces.appendingPathComponent("faces.json")))
    }

    func clip(_ c: Manifest.Clip) -> StoredClip {
        var record = ClipRecord(key: c.file, path: c.file, kind: c.kind == "frames" ? .frames : (c.window == nil ? .video : .window),
                                window: c.window.map { TimeWindow(start: $0.start, end: $0.end) })
        if c.kind == "frames" { record.frameRate = 10 }
        return StoredClip(uid: "t/" + c.file, source: "t", record: record, probe: nil, face: nil, view: nil,
                          fileSize: nil, fileMtime: nil, recordHash: "", status: .ok, error: nil)
    }

    func iou(_ a: FaceBox, _ b: Manifest.Box, width: Double, height: Double) -> Double {
        let bx = b.x / width, by = b.y / height, bw = b.w / width, bh = b.h / height
        let iw = max(0, min(a.x + a.w, bx + bw) - max(a.x, bx)), ih = max(0, min(a.y + a.h, by + bh) - max(a.y, by))
        let inter = iw * ih
        return inter / (a.w * a.h + bw * bh - inter)
    }

    func search(_ c: Manifest.Clip, options: FaceSearchOptions = FaceSearchOptions()) throws -> FaceSearchResult {
        try FaceSearch.search(clip: clip(c), root: Self.faces.path, options: options, detector: try DlibFaceDetector())
    }

    func test_every_face_from_40_px_up_is_found_where_it_is_with_IoU_at_least_one_half() throws {
        let clips = try Self.manifest().clips.filter { $0.main != nil && $0.faces.count == 1 }
        XCTAssertGreaterThanOrEqual(clips.count, 12, "the fixture manifest lists the size sweep")
        var widths = Set<Double>()
        for c in clips {
            let r = try search(c)
            let box = try XCTUnwrap(r.box, "\(c.file) \(c.window.map { "[\($0.start), \($0.end))" } ?? ""): no face found")
            let overlap = iou(box, c.faces[0], width: c.width, height: c.height)
            XCTAssertGreaterThanOrEqual(overlap, 0.5, "\(c.file) \(c.window.map { "[\($0.start), \($0.end))" } ?? ""): IoU \(overlap), box \(box)")
            XCTAssertEqual(box.origin, .detector(DlibFaceDetector.identity))
            XCTAssertEqual(r.facesSeen, 1, c.file)
            XCTAssertEqual(r.framesSearched, 3, c.file)
            XCTAssertGreaterThanOrEqual(r.framesWithFace, 2, c.file)
            widths.insert(c.faces[0].w)
        }
        XCTAssertTrue(widths.contains(40) && widths.contains(300), "sizes from 40 to 300 px: \(widths.sorted())")
    }

    func test_a_40_px_face_is_missed_without_upsampling_so_the_upsampling_is_what_finds_it() throws {
        let c = try XCTUnwrap(try Self.manifest().clips.first { $0.file == "size040_centre.mp4" })
        // min_face 80 asks for no upsampling at all: dlib alone does not see a 40 px face.
        XCTAssertNil(try search(c, options: FaceSearchOptions(minFace: 80)).box)
        XCTAssertNotNil(try search(c).box)
    }

    func test_in_a_two_person_video_the_larger_face_is_the_main_one() throws {
        let c = try XCTUnwrap(try Self.manifest().clips.first { $0.faces.count == 2 && $0.main == 0 })
        let r = try search(c)
        let box = try XCTUnwrap(r.box)
        XCTAssertGreaterThanOrEqual(iou(box, c.faces[0], width: c.width, height: c.height), 0.5, "\(box)")
        XCTAssertEqual(iou(box, c.faces[1], width: c.width, height: c.height), 0, "\(box)")
        XCTAssertGreaterThanOrEqual(r.facesSeen, 1)
    }

    func test_a_video_without_a_face_records_none_and_is_not_an_error() throws {
        let c = try XCTUnwrap(try Self.manifest().clips.first { $0.faces.isEmpty })
        let r = try search(c)
        XCTAssertNil(r.box)
        XCTAssertEqual(r.facesSeen, 0)
        XCTAssertEqual(r.framesSearched, 3)
    }

    func test_each_time_window_finds_the_face_on_screen_in_it() throws {
        let windows = try Self.manifest().clips.filter { $0.window != nil }
        XCTAssertEqual(windows.count, 2)
        let boxes = try windows.map { try XCTUnwrap(try search($0).box) }
        for (c, box) in zip(windows, boxes) {
            XCTAssertGreaterThanOrEqual(iou(box, c.faces[0], width: c.width, height: c.height), 0.5, "\(c.window!.start): \(box)")
        }
        XCTAssertGreaterThan(abs(boxes[0].x - boxes[1].x), 0.4, "the two windows' faces are far apart")
    }

    // MARK: - The ingest face pass

    var root: URL!
    let fm = FileManager.default

    override func setUpWithError() throws {
        root = fm.temporaryDirectory.appendingPathComponent("emocfg-faces-\(UUID().uuidString)")
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let root { try? fm.removeItem(at: root) }
    }

    /// A manifest source of copies of the fixtures `files`, with `extra` YAML for the source entry.
    func makeSource(_ files: [String], extra: String = "") throws -> SourcesConfig {
        var csv = "path,label\n"
        for f in files {
            try fm.copyItem(at: Self.faces.appendingPathComponent(f), to: root.appendingPathComponent(f))
            csv += "\(f),happy\n"
        }
        try Data(csv.utf8).write(to: root.appendingPathComponent("manifest.csv"))
        var yaml = "sources:\n  Faces:\n    adapter: manifest\n    root: \"\(root.path)\"\n"
            + "    options: {file: manifest.csv, columns: {path: path, emotion: label}}\n"
        if !extra.isEmpty { yaml += extra.split(separator: "\n").map { "    \($0)\n" }.joined() }
        return try SourcesConfig.parse(yaml: yaml, file: "faces.yaml", baseDirectory: root, adapters: AdapterRegistry.names)
    }

    func ingest(_ config: SourcesConfig, store: Store, pool: FaceDetectorPool = .dlib(), search: Bool = true) throws -> SourceSummary {
        var configured = IngestRunner(store: store, config: config, jobs: 2)
        configured.detectors = pool
        configured.searchFacesThisRun = search
        let runner = configured
        return try blocking { try await runner.run() }[0]
    }

    /// Face boxes by file name (the manifest adapter's keys drop the extension).
    func faces(_ store: Store) throws -> [String: FaceBox?] {
        Dictionary(uniqueKeysWithValues: try store.clips(source: "Faces").map { ($0.record.path, $0.face) })
    }

    let files = ["size120_bottomright.mp4", "two_people_120_064.mp4", "no_face.mp4", "size080_centre.mp4"]

    func test_ingest_stores_the_detector_boxes_views_and_no_face_and_status_counts_them() throws {
        let config = try makeSource(files)
        let store = try temporaryStore()
        let s = try ingest(config, store: store)
        let f = try XCTUnwrap(s.faces)
        XCTAssertEqual(f.searched, 4)
        XCTAssertEqual(f.withFace, 3)
        XCTAssertEqual(f.noFace, 1)
        XCTAssertEqual(f.failed, 0)
        let clips = Dictionary(uniqueKeysWithValues: try store.clips(source: "Faces").map { ($0.record.path, $0) })
        let big = try XCTUnwrap(clips["size120_bottomright.mp4"]?.face)
        XCTAssertEqual(big.origin.rawValue, "detector:" + DlibFaceDetector.identity)
        XCTAssertEqual(big.x + big.w / 2, (420 + 60) / 640, accuracy: 0.05)
        XCTAssertEqual(clips["size120_bottomright.mp4"]?.view, .half, "120x120 of 640x360 is 6% of the frame")
        XCTAssertNil(clips["no_face.mp4"]?.face)
        XCTAssertNil(clips["no_face.mp4"]?.view)
        let counts = try XCTUnwrap(try store.sourceCounts()["Faces"])
        XCTAssertEqual(counts.withFace, 3)
        XCTAssertEqual(counts.faceFromDetector, 3)
        XCTAssertEqual(counts.noFaceFound, 1)
        XCTAssertEqual(counts.faceFromSidecar + counts.faceFromDataset, 0)
    }

    func test_a_rerun_searches_nothing_again_and_a_touched_file_is_searched_again() throws {
        let config = try makeSource(files)
        let store = try temporaryStore()
        _ = try ingest(config, store: store)
        let before = try faces(store)
        let again = try XCTUnwrap(try ingest(config, store: store).faces)
        XCTAssertEqual(again.searched, 0)
        XCTAssertEqual(again.cached, 4)
        XCTAssertEqual(try faces(store), before)

        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)],
                             ofItemAtPath: root.appendingPathComponent("no_face.mp4").path)
        let touched = try XCTUnwrap(try ingest(config, store: store).faces)
        XCTAssertEqual(touched.searched, 1)
        XCTAssertEqual(touched.cached, 3)
        XCTAssertEqual(try faces(store), before)
    }

    /// dlib's detector under another name, as a new detector version would be.
    final class Renamed: FaceDetecting {
        let inner: DlibFaceDetector
        let identity: String
        var smallestFace: Int { inner.smallestFace }
        init(_ identity: String) throws { inner = try DlibFaceDetector(); self.identity = identity }
        func detect(gray: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int) throws(FaceDetectionError) -> [DetectedFace] {
            try inner.detect(gray: gray, width: width, height: height, stride: stride)
        }
    }

    func test_a_new_detector_version_searches_every_clip_again() throws {
        let config = try makeSource(files)
        let store = try temporaryStore()
        _ = try ingest(config, store: store)
        let next = FaceDetectorPool(identity: "dlib-hog-99.1") { () throws(FaceDetectionError) in
            do { return try Renamed("dlib-hog-99.1") } catch { throw FaceDetectionError("\(error)") }
        }
        let s = try XCTUnwrap(try ingest(config, store: store, pool: next).faces)
        XCTAssertEqual(s.searched, 4)
        XCTAssertEqual(s.cached, 0)
        for (key, face) in try faces(store) where key != "no_face.mp4" {
            XCTAssertEqual(face?.origin.rawValue, "detector:dlib-hog-99.1", key)
        }
        XCTAssertEqual(try XCTUnwrap(try ingest(config, store: store, pool: next).faces).searched, 0)
    }

    func test_a_sidecar_box_wins_and_its_clip_is_not_searched() throws {
        let sidecar = root.appendingPathComponent("boxes.jsonl")
        let config = try makeSource(files, extra: "face_boxes: {file: \"\(sidecar.path)\", units: normalized}")
        try Data(#"{"key": "no_face.mp4", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}"# .utf8).write(to: sidecar)
        let store = try temporaryStore()
        let s = try XCTUnwrap(try ingest(config, store: store).faces)
        XCTAssertEqual(s.searched, 3)
        XCTAssertEqual(s.givenBoxes, 1)
        let box = try XCTUnwrap(try faces(store)["no_face.mp4"] ?? nil)
        XCTAssertEqual(box.origin, .sidecar)
        XCTAssertEqual(box.x, 0.1, accuracy: 1e-9)
        XCTAssertNil(try store.faceSearches(source: "Faces")["no_face.mp4"], "the sidecar's clip was never searched")
        XCTAssertEqual(try store.sourceCounts()["Faces"]?.faceFromSidecar, 1)
    }

    func test_dataset_boxes_win_over_the_detector() throws {
        // CelebV-HQ's replica ships a bbox for most clips: those keep it, the rest are searched.
        let r = try ingestReplica("CelebV-HQ", adapter: "celebvhq")
        let withDatasetBox = r.clips.values.filter { $0.record.faceBox?.origin == .dataset && $0.status == "ok" }
        XCTAssertFalse(withDatasetBox.isEmpty)
        let searched = try r.store.faceSearches(source: "CelebV-HQ")
        for c in withDatasetBox {
            XCTAssertNil(searched[c.record.path], "\(c.record.key) has the dataset's box and must not be searched")
        }
        let f = try XCTUnwrap(r.summary.faces)
        XCTAssertEqual(f.givenBoxes, withDatasetBox.count)
        XCTAssertEqual(f.searched, r.clips.values.filter { $0.status == "ok" }.count - withDatasetBox.count)
    }

    func test_no_faces_leaves_clips_unsearched_and_faces_off_removes_the_detectors_boxes() throws {
        let config = try makeSource(files)
        let store = try temporaryStore()
        let skipped = try XCTUnwrap(try ingest(config, store: store, search: false).faces)
        XCTAssertEqual(skipped.searched, 0)
        XCTAssertEqual(skipped.notSearched, 4)
        XCTAssertTrue(try faces(store).values.allSatisfy { $0 == nil })

        _ = try ingest(config, store: store)
        XCTAssertEqual(try faces(store).values.filter { $0 != nil }.count, 3)

        var off = config
        off.sources[0].faces.enabled = false
        _ = try ingest(off, store: store)
        XCTAssertTrue(try faces(store).values.allSatisfy { $0 == nil }, "faces: off leaves no detector box")
        XCTAssertEqual(try store.sourceCounts()["Faces"]?.noFaceFound, 0)

        // On again: the stored searches stand, nothing is searched.
        let back = try XCTUnwrap(try ingest(config, store: store).faces)
        XCTAssertEqual(back.searched, 0)
        XCTAssertEqual(try faces(store).values.filter { $0 != nil }.count, 3)
    }

    func test_more_frames_per_clip_in_sources_yaml_searches_again_with_that_many() throws {
        let config = try makeSource(["size080_centre.mp4"], extra: "faces: {frames: 5}")
        let store = try temporaryStore()
        let s = try XCTUnwrap(try ingest(config, store: store).faces)
        XCTAssertEqual(s.searched, 1)
        XCTAssertEqual(try store.faceSearches(source: "Faces")["size080_centre.mp4"]?.result?.framesSearched, 5)
    }

    func test_a_clip_whose_frames_cannot_be_decoded_is_recorded_and_the_others_are_kept() throws {
        let config = try makeSource(["size080_centre.mp4", "no_face.mp4"])
        // The same container with its picture data zeroed: the header (and so the probe) is fine,
        // no frame decodes.
        var data = try Data(contentsOf: root.appendingPathComponent("size080_centre.mp4"))
        let mdat = try XCTUnwrap(data.range(of: Data("mdat".utf8)))
        let size = data[(mdat.lowerBound - 4)..<mdat.lowerBound].reduce(0) { $0 << 8 | Int($1) }
        let payload = mdat.upperBound..<(mdat.lowerBound - 4 + size)
        data.replaceSubrange(payload, with: Data(count: payload.count))
        try data.write(to: root.appendingPathComponent("size080_centre.mp4"))

        let store = try temporaryStore()
        let s = try ingest(config, store: store)
        let f = try XCTUnwrap(s.faces)
        XCTAssertEqual(f.failed, 1)
        XCTAssertEqual(f.noFace, 1)
        let clips = try store.clips(source: "Faces")
        XCTAssertEqual(clips.filter { $0.status == .ok }.count, 2, "the clip stays usable, without a box")
        let problem = try XCTUnwrap(try store.problems(source: "Faces").first { $0.problem.kind == .faceSearchFailed })
        XCTAssertTrue(problem.problem.message.contains("size080_centre.mp4"), problem.problem.message)
        XCTAssertEqual(problem.phase, .faces)
        // Unchanged, it is not searched again (the failure stands); fixed, it is, and the problem goes.
        XCTAssertEqual(try XCTUnwrap(try ingest(config, store: store).faces).searched, 0)
        try fm.removeItem(at: root.appendingPathComponent("size080_centre.mp4"))
        try fm.copyItem(at: Self.faces.appendingPathComponent("size080_centre.mp4"), to: root.appendingPathComponent("size080_centre.mp4"))
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 120)], ofItemAtPath: root.appendingPathComponent("size080_centre.mp4").path)
        let fixed = try XCTUnwrap(try ingest(config, store: store).faces)
        XCTAssertEqual(fixed.withFace, 1)
        XCTAssertNil(try store.problems(source: "Faces").first { $0.problem.kind == .faceSearchFailed })
    }

    func test_a_window_past_the_end_of_its_video_is_an_error_naming_it() throws {
        var record = ClipRecord(key: "w", path: "size080_centre.mp4", kind: .window)
        record.window = TimeWindow(start: 50, end: 60)
        let clip = StoredClip(uid: "t/w", source: "t", record: record, probe: nil, face: nil, view: nil,
                              fileSize: nil, fileMtime: nil, recordHash: "", status: .ok, error: nil)
        XCTAssertThrowsError(try FaceSearch.search(clip: clip, root: Self.faces.path, options: FaceSearchOptions(), detector: try DlibFaceDetector())) { error in
            XCTAssertTrue("\(error)".contains("after the end of the video"), "\(error)")
        }
    }
}

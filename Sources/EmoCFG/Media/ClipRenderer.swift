import CFFmpeg
import Foundation

/// Encoder settings a rendered file depends on (part of its cache key).
public struct RenderSettings: Sendable, Hashable, Codable {
    /// `auto` (libx264 where this libavcodec has it, else `mpeg4`), `libx264` or `mpeg4`.
    public var encoder: String
    /// libx264's constant rate factor (0 best … 51 smallest); MPEG-4 maps it to a fixed quantiser.
    public var crf: Int
    /// libx264's preset (`ultrafast` … `veryslow`).
    public var preset: String
    /// Scale down (aspect kept) so that the longer side is at most this; nil never scales.
    public var maxSide: Int?
    /// Cut the source's sound too (windows only).
    public var audio: Bool

    public init(encoder: String = "auto", crf: Int = 20, preset: String = "veryfast", maxSide: Int? = nil, audio: Bool = true) {
        self.encoder = encoder
        self.crf = crf
        self.preset = preset
        self.maxSide = maxSide
        self.audio = audio
    }
}

/// One window of a video file to render into `output` (see `ClipRenderer.renderWindows`).
public struct WindowJob: Sendable, Hashable {
    /// The span [start, end) in seconds from the video's first instant.
    public var start: Double
    public var end: Double
    /// The MP4 to write (through `output + ".partial"`).
    public var output: String

    public init(start: Double, end: Double, output: String) {
        self.start = start
        self.end = end
        self.output = output
    }
}

/// A clip that is not a whole playable video file, to be rendered into one.
public enum RenderInput: Sendable, Hashable {
    /// Frame images (JPEG/PNG/BMP), absolute paths, already in display order; played at `fps`.
    case frames(paths: [String], fps: Double)
    /// The span [start, end) seconds of a video file, with its audio where it has some.
    case window(file: String, start: Double, end: Double)

    /// What errors name: the video file, or the folder of the first frame.
    var path: String {
        switch self {
        case .frames(let paths, _): return paths.first.map { ($0 as NSString).deletingLastPathComponent } ?? ""
        case .window(let file, _, _): return file
        }
    }
}

/// What a render wrote.
public struct RenderedMedia: Sendable, Equatable, Codable {
    /// The encoder actually used: `libx264` or `mpeg4`.
    public var encoder: String
    public var frames: Int
    /// Seconds: frames / frame rate.
    public var duration: Double
    public var width: Int
    public var height: Int
    public var hasAudio: Bool
    /// The file's size.
    public var bytes: Int64

    public init(encoder: String, frames: Int, duration: Double, width: Int, height: Int, hasAudio: Bool, bytes: Int64) {
        self.encoder = encoder
        self.frames = frames
        self.duration = duration
        self.width = width
        self.height = height
        self.hasAudio = hasAudio
        self.bytes = bytes
    }
}

/// A clip that could not be rendered: the file at fault (the video, the frame image that does not
/// decode, the folder of the frames, or the output that cannot be written) and libav's reason.
public struct RenderError: Error, Sendable, CustomStringConvertible, Equatable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Renders a clip that is not a whole playable file (a time window of a longer video, a folder of
/// frame images, a range of a recording's frames) into an MP4 that every player reads: H.264
/// yuv420p by libx264 (MPEG-4 Part 2 where this libavcodec lacks it), at the clip's own constant
/// frame rate, with the window's sound as AAC. In-process with libavformat, libavcodec, libswscale
/// and libswresample; never a subprocess.
///
/// Memory stays flat: pictures and sound stream through one at a time, nothing of the clip is held
/// whole. Safe to call from many threads at once; each call has its own decoders and encoders, and
/// each encoder uses one thread, since the caller renders one clip per core.
public enum ClipRenderer {
    private static let setUp: Void = { LibavLog.install() }()

    /// What `settings.encoder` resolves to on this machine: `auto` is `libx264` when libavcodec has
    /// it, else `mpeg4`; any other name is returned as it is.
    public static func resolvedEncoder(_ settings: RenderSettings) -> String {
        guard settings.encoder == "auto" else { return settings.encoder }
        return avcodec_find_encoder_by_name("libx264") != nil ? "libx264" : "mpeg4"
    }

    /// Renders `input` to an MP4 at `output`. The file is written as `output + ".partial"` and
    /// renamed when complete, so a crash never leaves half a file under the final name; on an error
    /// the partial file is removed.
    public static func render(_ input: RenderInput, settings: RenderSettings, to output: String) throws(RenderError) -> RenderedMedia {
        _ = setUp
        let partial = output + ".partial"
        var media: RenderedMedia
        do {
            media = try write(input, settings: settings, to: partial)
        } catch {
            unlink(partial)
            throw error
        }
        guard rename(partial, output) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw RenderError(path: output, message: "cannot move the rendered file into place: \(reason)")
        }
        var info = stat()
        if stat(output, &info) == 0 { media.bytes = Int64(info.st_size) }
        return media
    }

    /// The size pictures of `width` × `height` are encoded at: scaled down (aspect kept) so the
    /// longer side is at most `maxSide`, and both sides even, as 4:2:0 chroma wants (an odd side
    /// loses one pixel).
    public static func outputSize(width: Int, height: Int, maxSide: Int?) -> (width: Int, height: Int) {
        var w = Double(width), h = Double(height)
        if let m = maxSide, m > 0, max(width, height) > m {
            let s = Double(m) / Double(max(width, height))
            w = (w * s).rounded()
            h = (h * s).rounded()
        }
        return (max(2, Int(w) & ~1), max(2, Int(h) & ~1))
    }

    /// At most this many windows of one `renderWindows` call hold an encoder at once (see there): a
    /// 720p libx264 encoder holds about 100 MB, and the export runs one call per core.
    public static let defaultMaxOpenWindows = 4

    /// Renders several windows of one video file in one pass: each source frame (and audio sample) is
    /// decoded once and handed to every window whose span holds it; a window whose keyframe lies past
    /// what the pass has read (or, in a file without an index, that starts more than 2 s after it) is
    /// reached by seeking instead of decoding the gap. Each window's file holds what `render(.window(…))`
    /// writes for it alone: the same frames, timestamps, sound and encoder settings (not always the
    /// same bytes: libx264's output was seen to vary with other encoders open in the process). Results come in the order of `jobs`; a window that fails
    /// (empty, past the end, an output that cannot be written) does not stop the others, and gets the
    /// error `render` would throw for it. `.partial` files are used and removed as `render` does.
    ///
    /// Memory: a window's writer (its libx264 encoder with lookahead and reference pictures: about
    /// 100 MB at 720p, measured by `emocfg-bench render`) exists from its first frame to its end, so
    /// only windows that overlap hold one at once, and never more than `maxOpen`; windows beyond that
    /// are cut in a further pass over the part of the file they need. Peak ≈ maxOpen × that per call. One decoder per call, one encoder thread per window: call it from
    /// one thread per core, each with its own windows.
    public static func renderWindows(
        file: String, jobs: [WindowJob], settings: RenderSettings, maxOpen: Int = defaultMaxOpenWindows
    ) -> [Result<RenderedMedia, RenderError>] {
        _ = setUp
        let encoder = resolvedEncoder(settings)
        guard encoder == "libx264" || encoder == "mpeg4" else {
            return jobs.map { _ in .failure(RenderError(path: file, message: "unknown encoder '\(settings.encoder)'; allowed: auto, libx264, mpeg4")) }
        }
        guard (0...51).contains(settings.crf) else { return jobs.map { _ in .failure(RenderError(path: file, message: "crf must be in 0...51, got \(settings.crf)")) } }
        if let m = settings.maxSide, m < 2 { return jobs.map { _ in .failure(RenderError(path: file, message: "maxSide must be at least 2, got \(m)")) } }
        return renderPass(file: file, jobs: jobs, settings: settings, encoder: encoder, maxOpen: maxOpen, partialSuffix: ".partial")
    }

    // MARK: - Rendering

    /// The windows of `jobs` cut from `file`, each written to `output + partialSuffix` and, when the
    /// suffix is not empty, moved into place as `render` does.
    private static func renderPass(
        file: String, jobs: [WindowJob], settings: RenderSettings, encoder: String, maxOpen: Int, partialSuffix: String
    ) -> [Result<RenderedMedia, RenderError>] {
        var results = [Result<RenderedMedia, RenderError>?](repeating: nil, count: jobs.count)
        // Empty spans fail alone; the others are cut.
        var valid: [Int] = []
        for (i, j) in jobs.enumerated() {
            if j.start.isFinite, j.end.isFinite, j.end > j.start { valid.append(i) } else {
                results[i] = .failure(RenderError(path: file, message: "empty time window \(j.start)–\(j.end) s"))
            }
        }
        if !valid.isEmpty {
            let cutter: VideoWindowCutter
            do {
                cutter = try VideoWindowCutter(path: file, withAudio: settings.audio)
            } catch {
                for i in valid { results[i] = .failure(error) }
                return results.map { $0! }
            }
            let (w, h) = outputSize(width: Int(cutter.width), height: Int(cutter.height), maxSide: settings.maxSide)
            cutter.cut(valid.map { (jobs[$0].start, jobs[$0].end) }, maxOpen: maxOpen, open: { k throws(RenderError) in
                try MP4ClipWriter(
                    output: jobs[valid[k]].output + partialSuffix, errorPath: file, encoder: encoder, settings: settings,
                    width: Int32(w), height: Int32(h), rate: cutter.rate, sampleAspect: cutter.sampleAspect, audio: cutter.audioFormat)
            }, close: { k, cut in
                let i = valid[k]
                let output = jobs[i].output
                let partial = output + partialSuffix
                do throws(RenderError) {
                    let (writer, frames) = try cut.get()
                    try writer.finish()
                    var media = RenderedMedia(encoder: encoder, frames: frames, duration: Double(frames) / av_q2d(writer.rate),
                                              width: w, height: h, hasAudio: writer.hasAudio, bytes: 0)
                    if !partialSuffix.isEmpty {
                        guard rename(partial, output) == 0 else {
                            let reason = String(cString: strerror(errno))
                            throw RenderError(path: output, message: "cannot move the rendered file into place: \(reason)")
                        }
                        var info = stat()
                        if stat(output, &info) == 0 { media.bytes = Int64(info.st_size) }
                    }
                    results[i] = .success(media)
                } catch {
                    if !partialSuffix.isEmpty { unlink(partial) }
                    results[i] = .failure(error)
                }
            })
        }
        return results.map { $0 ?? .failure(RenderError(path: file, message: "not rendered")) }
    }

    private static func write(_ input: RenderInput, settings: RenderSettings, to partial: String) throws(RenderError) -> RenderedMedia {
        let encoder = resolvedEncoder(settings)
        guard encoder == "libx264" || encoder == "mpeg4" else {
            throw RenderError(path: input.path, message: "unknown encoder '\(settings.encoder)'; allowed: auto, libx264, mpeg4")
        }
        guard (0...51).contains(settings.crf) else { throw RenderError(path: input.path, message: "crf must be in 0...51, got \(settings.crf)") }
        if let m = settings.maxSide, m < 2 { throw RenderError(path: input.path, message: "maxSide must be at least 2, got \(m)") }
        switch input {
        case .window(let file, let start, let end):
            // One window is a pass with one job (the job's output is the partial file here).
            let results = renderPass(file: file, jobs: [WindowJob(start: start, end: end, output: partial)], settings: settings,
                                     encoder: encoder, maxOpen: 1, partialSuffix: "")
            return try results[0].get()
        case .frames(let paths, let fps):
            return try renderFrames(paths, fps: fps, settings: settings, encoder: encoder, to: partial)
        }
    }

    private static func renderFrames(
        _ paths: [String], fps: Double, settings: RenderSettings, encoder: String, to partial: String
    ) throws(RenderError) -> RenderedMedia {
        let folder = RenderInput.frames(paths: paths, fps: fps).path
        guard !paths.isEmpty else { throw RenderError(path: folder, message: "no frames to render") }
        guard fps.isFinite, fps > 0, fps < 1000 else { throw RenderError(path: folder, message: "frame rate must be above 0 and below 1000, got \(fps)") }
        let images = ImageFrameDecoder()
        var writer: MP4ClipWriter? = nil
        for (i, path) in paths.enumerated() {
            let frame: UnsafeMutablePointer<AVFrame>
            switch images.decode(path) {
            case .success(let f): frame = f
            case .failure(let f):
                let name = (path as NSString).lastPathComponent
                throw RenderError(path: path, message: "frame \(i + 1) of \(paths.count) (\(name)) cannot be decoded: \(f.message)")
            }
            if writer == nil {
                // The first frame sets the size; a later frame of another size is scaled to it.
                let (w, h) = outputSize(width: Int(frame.pointee.width), height: Int(frame.pointee.height), maxSide: settings.maxSide)
                writer = try MP4ClipWriter(
                    output: partial, errorPath: folder, encoder: encoder, settings: settings, width: Int32(w), height: Int32(h),
                    rate: av_d2q(fps, 65535), audio: nil)
            }
            try writer!.writeVideo(frame)
        }
        guard let writer else { throw RenderError(path: folder, message: "no frames to render") }
        try writer.finish()
        return RenderedMedia(encoder: encoder, frames: writer.frames, duration: Double(writer.frames) / fps,
                             width: Int(writer.width), height: Int(writer.height), hasAudio: false, bytes: 0)
    }
}

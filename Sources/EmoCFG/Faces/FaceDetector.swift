import CDlibFace
import Foundation

/// A face one search found, in pixels of the picture searched (edges as dlib gives them: `right`
/// and `bottom` are the last pixels inside), with the detector's confidence.
public struct DetectedFace: Sendable, Equatable {
    public var left: Int
    public var top: Int
    public var right: Int
    public var bottom: Int
    public var score: Double

    public init(left: Int, top: Int, right: Int, bottom: Int, score: Double) {
        self.left = left
        self.top = top
        self.right = right
        self.bottom = bottom
        self.score = score
    }
}

/// Why a detector could not be made or could not search a picture.
public struct FaceDetectionError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A face detector that runs in-process on 8-bit grayscale pictures. One instance belongs to one
/// thread at a time (it keeps scratch buffers); make one per worker.
public protocol FaceDetecting: AnyObject {
    /// The detector's name and version, e.g. `dlib-hog-19.24`: the origin of its boxes
    /// (`detector:<identity>`) and part of the cache key, so a new version searches again.
    var identity: String { get }
    /// The smallest face, in pixels of the picture searched, that the detector finds.
    var smallestFace: Int { get }
    /// The faces in a `width` × `height` grayscale picture whose rows start `stride` bytes apart.
    func detect(gray: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int) throws(FaceDetectionError) -> [DetectedFace]
}

/// dlib's HOG frontal-face detector (`dlib::get_frontal_face_detector`: five HOG filters for frontal
/// and turned faces, trained by dlib's author on labelled faces; the model is compiled into dlib, so
/// nothing is read from disk or downloaded). It finds faces of about 80 × 80 pixels and larger in
/// the picture it is given; `FaceSearch` upsamples small frames so smaller faces reach that size.
public final class DlibFaceDetector: FaceDetecting {
    private let handle: OpaquePointer
    private var found = [emocfg_face_rect](repeating: emocfg_face_rect(), count: 32)

    /// `dlib-hog-<major>.<minor>` of the dlib the shim was compiled against.
    public static let identity: String = {
        let full = String(cString: emocfg_dlib_version())
        return "dlib-hog-" + full.split(separator: ".").prefix(2).joined(separator: ".")
    }()

    public var identity: String { Self.identity }
    public var smallestFace: Int { Int(emocfg_face_window_size()) }

    public init() throws(FaceDetectionError) {
        var error = [CChar](repeating: 0, count: 256)
        guard let h = emocfg_face_detector_new(&error, Int32(error.count)) else {
            throw FaceDetectionError("dlib could not build its face detector: " + Self.text(error))
        }
        handle = h
    }

    deinit { emocfg_face_detector_free(handle) }

    private static func text(_ cString: [CChar]) -> String {
        String(decoding: cString.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func detect(gray: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int) throws(FaceDetectionError) -> [DetectedFace] {
        var error = [CChar](repeating: 0, count: 256)
        let n = found.withUnsafeMutableBufferPointer { out in
            emocfg_face_detect_gray(handle, gray, Int32(clamping: width), Int32(clamping: height), Int32(clamping: stride),
                                    0, out.baseAddress, Int32(out.count), &error, Int32(error.count))
        }
        guard n >= 0 else { throw FaceDetectionError("dlib: " + Self.text(error)) }
        return found.prefix(Int(n)).map {
            DetectedFace(left: Int($0.left), top: Int($0.top), right: Int($0.right), bottom: Int($0.bottom), score: $0.score)
        }
    }
}

/// Detectors made once and lent to one worker at a time, so parallel searches never share one.
public final class FaceDetectorPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [any FaceDetecting] = []
    private let make: () throws(FaceDetectionError) -> any FaceDetecting
    /// The identity of the detectors this pool makes.
    public let identity: String

    public init(identity: String, make: @escaping () throws(FaceDetectionError) -> any FaceDetecting) {
        self.identity = identity
        self.make = make
    }

    /// A pool of dlib detectors.
    public static func dlib() -> FaceDetectorPool {
        FaceDetectorPool(identity: DlibFaceDetector.identity) { () throws(FaceDetectionError) in try DlibFaceDetector() }
    }

    /// Runs `body` with a detector no other thread is using, then returns it to the pool.
    public func with<T>(_ body: (any FaceDetecting) throws -> T) throws -> T {
        lock.lock()
        let lent = idle.popLast()
        lock.unlock()
        let detector = try lent ?? make()
        defer {
            lock.lock()
            idle.append(detector)
            lock.unlock()
        }
        return try body(detector)
    }
}

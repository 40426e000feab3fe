import EmoCFG
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files the review page may send for a clip, found from the store alone: a request names a
/// clip by its uid, never a path. A file is sent only when its real path (symbolic links and `..`
/// resolved) lies inside the folder it belongs to: the clip's source root, or the media cache of an
/// export the store has written.
public struct ClipMediaFiles: Sendable {
    /// A video the browser can play, and where it comes from.
    public struct Video: Sendable, Equatable {
        /// The real path of the file.
        public var path: String
        public var contentType: String
        /// For a time window of a longer video sent whole: the span to play (a media fragment).
        public var window: TimeWindow?
        /// `rendered` (the export's media cache) or `source` (the dataset's own file).
        public var origin: String
    }

    let store: Store

    public init(store: Store) { self.store = store }

    /// The clip's video for an HTML5 player: its rendered file (H.264) where an export made one,
    /// else the dataset's file when browsers play its container and codec (a window plays as a
    /// fragment of it); nil when neither (the page then shows the sampled frames only).
    public func video(for clip: StoredClip) throws -> Video? {
        for folder in try store.exportFolders() {
            for f in try store.renderedFiles(clip: clip.uid) where f.encoder == "libx264" {
                if let path = Self.contained(folder + "/" + f.file, in: folder + "/media") {
                    return Video(path: path, contentType: "video/mp4", window: nil, origin: "rendered")
                }
            }
        }
        guard clip.record.kind != .frames, clip.status == .ok, let probe = clip.probe,
              let type = Self.browserType(container: probe.container, codec: probe.codec),
              let root = try sourceRoot(clip.source),
              let path = Self.contained(root + "/" + clip.record.path, in: root) else { return nil }
        return Video(path: path, contentType: type, window: clip.record.kind == .window ? clip.record.window : nil, origin: "source")
    }

    /// The clip's media path (a file, or a frame folder) when it lies inside its source root.
    public func mediaPath(for clip: StoredClip) throws -> String? {
        guard let root = try sourceRoot(clip.source) else { return nil }
        return Self.contained(root + "/" + clip.record.path, in: root, folder: clip.record.kind == .frames)
    }

    func sourceRoot(_ name: String) throws -> String? {
        try store.sources().first { $0.name == name }?.root
    }

    /// The MIME type browsers play for a probed container and video codec, nil for others (AVI,
    /// MPEG-4 Part 2, HEVC, …).
    static func browserType(container: String?, codec: String?) -> String? {
        guard let container, let codec else { return nil }
        let names = container.split(separator: ",").map(String.init)
        if names.contains("mp4") && ["h264", "av1", "vp9"].contains(codec) { return "video/mp4" }
        if names.contains("webm") && ["vp8", "vp9", "av1"].contains(codec) { return "video/webm" }
        return nil
    }

    /// The real path of `path` when it is inside the real path of `root` and is a regular file (or
    /// a folder, when `folder`); nil otherwise. Both are resolved by the file system (`realpath`):
    /// `..`, and symbolic links anywhere in the path, cannot lead outside `root`.
    public static func contained(_ path: String, in root: String, folder: Bool = false) -> String? {
        guard let realRoot = realPath(root), let real = realPath(path) else { return nil }
        let prefix = realRoot.hasSuffix("/") ? realRoot : realRoot + "/"
        guard real.hasPrefix(prefix) else { return nil }
        var st = stat()
        guard stat(real, &st) == 0 else { return nil }
        let kind = st.st_mode & S_IFMT
        return kind == (folder ? S_IFDIR : S_IFREG) ? real : nil
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}

import EmoCFG
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the file system says about a clip's media before anything is decoded.
struct MediaFileState: Equatable {
    enum Outcome: Equatable {
        case regularFile
        case directory
        case missing
        case unreadable(String)
    }
    var outcome: Outcome
    var size: Int64?
    var mtime: Double?

    /// Looks at `path` without opening it for decoding: missing, a broken symlink, a directory
    /// where a file belongs, no read permission.
    static func check(_ path: String, expectDirectory: Bool) -> MediaFileState {
        var lst = stat()
        guard lstat(path, &lst) == 0 else { return MediaFileState(outcome: .missing) }
        var st = stat()
        guard stat(path, &st) == 0 else {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            return MediaFileState(outcome: .unreadable("broken symbolic link to '\(target)'"))
        }
        let size = Int64(st.st_size)
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        let isDir = (st.st_mode & S_IFMT) == S_IFDIR
        let isReg = (st.st_mode & S_IFMT) == S_IFREG
        if expectDirectory {
            guard isDir else {
                return MediaFileState(outcome: .unreadable("is a file, expected a folder of frames"), size: size, mtime: mtime)
            }
        } else {
            if isDir {
                return MediaFileState(outcome: .unreadable("is a directory, expected a video file"), size: size, mtime: mtime)
            }
            guard isReg else {
                return MediaFileState(outcome: .unreadable("is not a regular file (a device, socket or pipe)"), size: size, mtime: mtime)
            }
        }
        guard access(path, R_OK) == 0 else {
            return MediaFileState(outcome: .unreadable("permission denied"), size: size, mtime: mtime)
        }
        return MediaFileState(outcome: isDir ? .directory : .regularFile, size: size, mtime: mtime)
    }
}

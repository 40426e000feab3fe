import EmoCFG
import Foundation

/// What an adapter sees while it scans one source: the root, file helpers, and a place to report
/// problems with the file and line they concern.
public final class ScanContext {
    public let sourceName: String
    public let root: URL
    public private(set) var problems: [IngestProblem] = []
    /// Videos an adapter had to probe while scanning (not reused from the store).
    public private(set) var scanProbes = 0
    private let fm = FileManager.default
    /// Probe results already in the store, by path relative to the root, with the file's size and
    /// mtime when probed: reused while the file is unchanged.
    private var known: [String: Store.MediaProbeRow]
    /// Probes made during this scan, for the runner to store.
    public private(set) var newProbes: [Store.MediaProbeRow] = []

    public init(sourceName: String, root: URL, known: [String: Store.MediaProbeRow] = [:]) {
        self.sourceName = sourceName
        self.root = root.standardizedFileURL
        self.known = known
    }

    /// Duration, frame count and rate of a video, for adapters that must cut it into time windows
    /// while scanning (AffWild2). Reuses the store's result while the file is unchanged, so reruns
    /// probe nothing. A video that cannot be read is reported and gives nil.
    public func probe(_ relative: String) -> ProbeResult? {
        let state = MediaFileState.check(url(relative).path, expectDirectory: false)
        if let k = known[relative], k.size == state.size, k.mtime == state.mtime { return k.probe }
        guard state.outcome == .regularFile else { return nil }
        scanProbes += 1
        do {
            let p = try MediaProbe.probe(path: url(relative).path)
            let row = Store.MediaProbeRow(path: relative, size: state.size, mtime: state.mtime, probe: p)
            known[relative] = row
            newProbes.append(row)
            return p
        } catch {
            problem(.probeFailed, file: relative, "libavformat \(error.message)")
            return nil
        }
    }

    /// Records a problem; the scan goes on.
    public func problem(
        _ kind: IngestProblem.Kind, file: String? = nil, line: Int? = nil, clip: String? = nil, _ message: String
    ) {
        problems.append(IngestProblem(
            clipKey: clip, kind: kind, location: file.map { SourceLocation(file: $0, line: line) }, message: message))
    }

    public func url(_ relative: String) -> URL {
        relative.isEmpty ? root : root.appendingPathComponent(relative)
    }

    /// Whether anything (file, folder or symlink, even a broken one) exists at `relative`.
    public func exists(_ relative: String) -> Bool {
        var st = stat()
        return lstat(url(relative).path, &st) == 0
    }

    public func isDirectory(_ relative: String) -> Bool {
        var dir: ObjCBool = false
        return fm.fileExists(atPath: url(relative).path, isDirectory: &dir) && dir.boolValue
    }

    /// The entries directly inside `relative` (names only, hidden ones left out), in natural order.
    ///
    /// Names are read as bytes: an entry whose name is not valid UTF-8 cannot be named in the store
    /// (Foundation would list it with U+FFFD in place of the bad bytes, a path that does not exist,
    /// and its clip would be reported missing). It is left out and reported once, the name's bad
    /// bytes escaped (`\xFF`), with what to do about it.
    public func entries(in relative: String) -> [String] {
        let listing = Self.listDirectory(url(relative).path)
        for raw in listing.invalid where !raw.starts(with: [UInt8(ascii: ".")]) {
            let shown = join(relative, Self.escapedName(raw))
            guard reportedBadNames.insert(shown).inserted else { continue }
            problem(.unreadableMedia, file: shown,
                    "\(shown): the file name is not valid UTF-8, so it cannot be read or recorded; rename it (e.g. convmv -f latin1 -t utf8 --notest) and ingest again")
        }
        return NaturalOrder.sorted(listing.names.filter { !$0.hasPrefix(".") })
    }

    /// Entries already reported for a name that is not UTF-8 (a folder may be listed more than once).
    private var reportedBadNames = Set<String>()

    /// The names in a folder as the file system gives them: those that are UTF-8, and the raw bytes
    /// of those that are not. A folder that cannot be opened lists nothing.
    static func listDirectory(_ path: String) -> (names: [String], invalid: [[UInt8]]) {
        guard let dir = opendir(path) else { return ([], []) }
        defer { closedir(dir) }
        var names: [String] = []
        var invalid: [[UInt8]] = []
        while let entry = readdir(dir) {
            let bytes: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            if let name = String(validating: bytes, as: UTF8.self) {
                names.append(name)
            } else {
                invalid.append(bytes)
            }
        }
        return (names, invalid)
    }

    /// A file name's bytes with each one that is not part of valid UTF-8 written as `\xFF`.
    public static func escapedName(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            // The valid UTF-8 sequence starting here (1 to 4 bytes), else one escaped byte.
            var taken = false
            for length in 1...4 where i + length <= bytes.count {
                if let s = String(validating: bytes[i..<(i + length)], as: UTF8.self) {
                    out += s == "\\" ? "\\\\" : s
                    i += length
                    taken = true
                    break
                }
            }
            if !taken {
                out += String(format: "\\x%02X", bytes[i])
                i += 1
            }
        }
        return out
    }

    /// The sub-folders directly inside `relative`, in natural order.
    public func directories(in relative: String) -> [String] {
        entries(in: relative).filter { isDirectory(join(relative, $0)) }
    }

    /// Files under `relative` whose extension (lowercased) is in `extensions`, as paths relative to
    /// the root, in natural order. Symlinks are listed too (a broken one is the runner's to report).
    /// A folder reached twice (symlink loops, or two links to one folder) is entered once: folders
    /// are told apart by device and inode, and one met again is reported, not walked.
    public func files(in relative: String, extensions: Set<String>, recursive: Bool = false) -> [String] {
        var visited = Set<FolderIdentity>()
        if let id = FolderIdentity(url(relative).path) { visited.insert(id) }
        return files(in: relative, extensions: extensions, recursive: recursive, visited: &visited)
    }

    private func files(in relative: String, extensions: Set<String>, recursive: Bool, visited: inout Set<FolderIdentity>) -> [String] {
        var out: [String] = []
        for name in entries(in: relative) {
            let rel = join(relative, name)
            // A folder named like a video (`00012.mp4/`) is listed, not entered: the runner reports
            // it as unreadable media instead of the clip silently vanishing.
            if extensions.contains((name as NSString).pathExtension.lowercased()) {
                out.append(rel)
            } else if recursive && isDirectory(rel) {
                guard let id = FolderIdentity(url(rel).path), visited.insert(id).inserted else {
                    problem(.strayFile, file: rel, "\(rel) leads to a folder already searched (a symlink loop or a second link to it); not searched again")
                    continue
                }
                out += files(in: rel, extensions: extensions, recursive: true, visited: &visited)
            }
        }
        return out
    }

    public func join(_ a: String, _ b: String) -> String {
        a.isEmpty ? b : (b.isEmpty ? a : a + "/" + b)
    }

    /// The bytes of a label file; a missing or unreadable file is reported and gives nil.
    public func read(_ relative: String) -> Data? {
        do {
            return try Data(contentsOf: url(relative))
        } catch {
            problem(.unreadableLabelFile, file: relative, "cannot read the label file: \(Self.reason(error))")
            return nil
        }
    }

    /// A CSV label file read by header name; nil (and a recorded problem) when unreadable.
    public func csv(_ relative: String, delimiter: Character = ",") -> CSVTable? {
        guard let data = read(relative) else { return nil }
        do {
            return try CSVTable(data: data, delimiter: delimiter)
        } catch {
            problem(.unreadableLabelFile, file: relative, "cannot parse as CSV: \(error)")
            return nil
        }
    }

    /// The rows of `table` that have as many fields as its header; every other row is reported as a
    /// bad row naming the line, the expected fields and the count found.
    public func wellFormedRows(_ table: CSVTable, file: String) -> [CSVRow] {
        table.rows.filter { row in
            guard row.fields.count == table.header.count else {
                problem(.badRow, file: file, line: row.line,
                        "expected \(table.header.count) fields (\(table.header.joined(separator: ","))), found \(row.fields.count)")
                return false
            }
            return true
        }
    }

    /// A CSV file's records without treating any row as a header.
    public func csvRows(_ relative: String, delimiter: Character = ",") -> [CSVRow]? {
        guard let data = read(relative) else { return nil }
        do {
            return try CSVReader(delimiter: delimiter).parse(data)
        } catch {
            problem(.unreadableLabelFile, file: relative, "cannot parse as CSV: \(error)")
            return nil
        }
    }

    /// A text file's non-blank lines with their 1-based numbers, LF or CRLF ended.
    ///
    /// Split on the bytes, not on `Character`s: Swift reads `\r\n` as one character, so splitting a
    /// `String` on `"\n"` leaves a CRLF file in one piece. A missing or non-UTF-8 file is reported
    /// (with the first bad line) and gives nil.
    public func lines(_ relative: String) -> [(line: Int, text: String)]? {
        guard let data = read(relative) else { return nil }
        var out: [(Int, String)] = []
        var number = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            guard let text = String(bytes: bytes, encoding: .utf8) else {
                problem(.unreadableLabelFile, file: relative, line: number, "not UTF-8 text")
                return nil
            }
            if !text.trimmingCharacters(in: .whitespaces).isEmpty { out.append((number, text)) }
        }
        return out
    }

    /// A JSON file decoded as a generic tree; nil (and a problem) when unreadable.
    public func json(_ relative: String) -> Any? {
        guard let data = read(relative) else { return nil }
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            problem(.unreadableLabelFile, file: relative, "not valid JSON: \(Self.reason(error))")
            return nil
        }
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if ns.domain == NSCocoaErrorDomain && ns.code == NSFileReadNoSuchFileError { return "no such file" }
        return ns.localizedDescription
    }
}

/// Helpers adapters share for turning dataset words into emocfg's vocabularies.
extension ScanContext {
    /// The canonical emotion for `raw`, or nil after appending a message to `problems` that names the
    /// value, where it came from and the dataset's vocabulary.
    public func emotion(_ raw: String, allowed: [String], at origin: SourceLocation?, into problems: inout [String]) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if allowed.contains(where: { $0.caseInsensitiveCompare(trimmed) == .orderedSame }),
           let c = EmotionVocabulary.canonicalize(trimmed) {
            return c
        }
        let place = origin.map { " (\($0))" } ?? ""
        problems.append("emotion '\(raw)'\(place) is not one of: \(allowed.joined(separator: ", "))")
        return nil
    }
}

/// A folder by device and inode (symlinks followed), so a walk can tell a folder it has entered.
struct FolderIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

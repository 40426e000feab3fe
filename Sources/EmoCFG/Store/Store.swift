import Foundation
import GRDB

/// The one SQLite file every stage shares (WAL mode, one writer, versioned migrations).
///
/// Stages read what earlier stages committed and commit their own results in transactions, so any
/// stage can be stopped at any moment and rerun.
public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    public init(path: String) throws {
        self.path = path
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(30)
        // A size cap in pages, for tests of a full disk (SQLite answers SQLITE_FULL beyond it).
        let maxPages = ProcessInfo.processInfo.environment["EMOCFG_STORE_MAX_PAGES"].flatMap(Int.init)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            if let maxPages { try db.execute(sql: "PRAGMA max_page_count = \(maxPages)") }
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Migrations.migrator.migrate(pool)
        } catch let e as DatabaseError {
            throw StoreError(path: path, message: "cannot open the store: \(e.message ?? "\(e)")")
        }
    }

    /// The schema versions applied to this file, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Migrations.migrator.appliedMigrations(db) }
    }

    /// Runs `body` in one write transaction.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write(body)
    }

    /// Runs `body` against a consistent snapshot.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// SQLite's journal mode for this file (`wal`).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}

/// The store could not be opened or written.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

extension Store {
    /// True for the errors that mean the store's file cannot be written (a full disk, an I/O error,
    /// a read-only file), as opposed to a bad query or bad data.
    public static func isWriteFailure(_ error: Error) -> Bool {
        guard let e = error as? DatabaseError else { return false }
        return [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN].contains(e.resultCode)
    }

    /// A store error for a person: SQLite's message without the statement (which can be long).
    public static func describe(_ error: Error) -> String {
        guard let e = error as? DatabaseError else { return "\(error)" }
        return "SQLite error \(e.resultCode.rawValue): \(e.message ?? "\(e.resultCode)")"
    }
}

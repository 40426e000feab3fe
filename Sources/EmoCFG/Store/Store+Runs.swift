import Foundation
import GRDB

/// One `emocfg run` of the whole pipeline, as recorded in the store.
public struct PipelineRun: Sendable, Equatable {
    public var id: Int64
    public var configHash: String
    /// `running`, `failed` or `done`. A run left `running` was interrupted.
    public var status: String
    public var stage: String
    public var error: String?
    public var summary: [StageCounters]
}

extension Store {
    public func lastPipelineRun() throws -> PipelineRun? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM pipeline_runs ORDER BY id DESC LIMIT 1").map {
                PipelineRun(id: $0["id"], configHash: $0["config_hash"], status: $0["status"], stage: $0["stage"], error: $0["error"],
                            summary: CanonicalJSON.decode([StageCounters].self, $0["summary"]) ?? [])
            }
        }
    }

    public func startPipelineRun(configHash: String, stage: String) throws -> Int64 {
        let now = Store.timestamp()
        return try write { db in
            try db.execute(sql: """
                INSERT INTO pipeline_runs (config_hash, status, stage, started_at, updated_at) VALUES (?, 'running', ?, ?, ?)
                """, arguments: [configHash, stage, now, now])
            return db.lastInsertedRowID
        }
    }

    public func updatePipelineRun(_ id: Int64, status: String, stage: String, error: String? = nil, summary: [StageCounters]) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE pipeline_runs SET status = ?, stage = ?, error = ?, summary = ?, updated_at = ? WHERE id = ?
                """, arguments: [status, stage, error, CanonicalJSON.encode(summary), Store.timestamp(), id])
        }
    }
}

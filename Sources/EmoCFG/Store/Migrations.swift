import GRDB

/// The store's schema, one registered migration per version. Never edit a shipped migration: add
/// the next one (later stages add `samples`, `verdicts`, `llm_calls`, `exports`).
enum Migrations {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-sources-clips") { db in
            try db.execute(sql: """
                CREATE TABLE sources (
                    name TEXT PRIMARY KEY,
                    root TEXT NOT NULL,
                    adapter TEXT NOT NULL,
                    adapter_version INTEGER NOT NULL,
                    licence TEXT,
                    ingested_at TEXT
                );
                CREATE TABLE clips (
                    uid TEXT PRIMARY KEY,                -- <source>/<native key>
                    source TEXT NOT NULL REFERENCES sources(name) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    path TEXT NOT NULL,                  -- relative to the source root
                    kind TEXT NOT NULL,                  -- video | frames | window
                    window_start REAL,
                    window_end REAL,
                    native_split TEXT,
                    split TEXT,                          -- train | val | test
                    folds TEXT NOT NULL DEFAULT '{}',    -- JSON {fold: side}
                    identity TEXT,
                    duration REAL,
                    width INTEGER,
                    height INTEGER,
                    fps REAL,
                    frame_count INTEGER,
                    frame_count_exact INTEGER,           -- 1 container, 0 estimated
                    codec TEXT,
                    has_audio INTEGER,
                    container TEXT,
                    file_size INTEGER,
                    file_mtime REAL,
                    probed_at TEXT,
                    face_x REAL, face_y REAL, face_w REAL, face_h REAL,
                    face_origin TEXT,                    -- dataset | sidecar
                    face_ratio REAL,
                    view TEXT,                           -- head | half | full
                    native_labels TEXT NOT NULL,         -- JSON, as given
                    labels TEXT NOT NULL,                -- JSON, normalised
                    labelled INTEGER NOT NULL,
                    texts TEXT NOT NULL DEFAULT '{}',
                    label_origin TEXT,
                    record_hash TEXT NOT NULL,
                    status TEXT NOT NULL,                -- ok | missing | unreadable | failed | gone
                    error TEXT,
                    updated_at TEXT NOT NULL
                );
                CREATE INDEX clips_by_source ON clips(source, status);
                CREATE TABLE ingest_problems (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    clip_uid TEXT,
                    kind TEXT NOT NULL,
                    file TEXT,
                    line INTEGER,
                    message TEXT NOT NULL,
                    phase TEXT NOT NULL,                 -- scan (labels, rows) | media (files, probing)
                    fingerprint TEXT NOT NULL UNIQUE
                );
                CREATE INDEX ingest_problems_by_source ON ingest_problems(source, phase);
                """)
        }
        m.registerMigration("v2-media-probes") { db in
            // What libavformat said about each file, by path, size and mtime: lets an adapter that
            // must know a video's length while scanning (time windows) skip unchanged files.
            try db.execute(sql: """
                CREATE TABLE media_probes (
                    source TEXT NOT NULL,
                    path TEXT NOT NULL,                  -- relative to the source root
                    file_size INTEGER,
                    file_mtime REAL,
                    probe TEXT NOT NULL,                 -- JSON ProbeResult
                    PRIMARY KEY (source, path)
                );
                """)
        }
        m.registerMigration("v3-samples-llm-calls") { db in
            try db.execute(sql: """
                CREATE TABLE samples (
                    uid TEXT PRIMARY KEY,                -- stable: stage/clip/item, so reruns upsert
                    clip_uid TEXT NOT NULL REFERENCES clips(uid),
                    stage TEXT NOT NULL,                 -- instruct | caption | qa | rationale
                    task TEXT NOT NULL,                  -- attribute | expression | emotion | caption | qa | rationale
                    form TEXT NOT NULL,                  -- mcq | open | short | caption
                    content TEXT NOT NULL,               -- canonical JSON {question, answer, …}
                    prompt_id TEXT NOT NULL,
                    prompt_hash TEXT NOT NULL,
                    model TEXT,
                    llm_call TEXT,                       -- llm_calls.key of the answer it came from
                    parent_uid TEXT REFERENCES samples(uid),
                    round INTEGER NOT NULL DEFAULT 0,
                    status TEXT NOT NULL DEFAULT 'pending',
                    created_at TEXT NOT NULL
                );
                CREATE INDEX samples_by_clip ON samples(clip_uid, stage);
                CREATE INDEX samples_by_stage ON samples(stage, status);
                CREATE TABLE llm_calls (
                    key TEXT PRIMARY KEY,                -- SHA-256 of the canonical request (image digests, not bytes)
                    stage TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    model TEXT NOT NULL,
                    status TEXT NOT NULL,                -- ok | failed
                    http_status INTEGER,
                    response BLOB,                       -- the provider's response body, zstd
                    answer TEXT,                         -- the parsed answer (canonical JSON or text)
                    attempts INTEGER NOT NULL,
                    tokens_in INTEGER NOT NULL DEFAULT 0,
                    tokens_out INTEGER NOT NULL DEFAULT 0,
                    tokens_estimated INTEGER NOT NULL DEFAULT 0,
                    cost REAL NOT NULL DEFAULT 0,
                    latency_ms REAL,
                    error TEXT,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE annotation_failures (
                    stage TEXT NOT NULL,
                    item TEXT NOT NULL,                  -- the work item (clip uid, or sample uid for rationales)
                    clip_uid TEXT,
                    reason TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (stage, item)
                );
                """)
        }
        m.registerMigration("v4-verdicts") { db in
            try db.execute(sql: """
                CREATE TABLE verdicts (
                    sample_uid TEXT NOT NULL REFERENCES samples(uid),
                    round INTEGER NOT NULL,
                    judge TEXT NOT NULL,                 -- model alias from pipeline.yaml critic.judges
                    pass INTEGER NOT NULL,
                    wrong_aspects TEXT NOT NULL,         -- JSON list
                    suggestion TEXT NOT NULL,
                    llm_call TEXT,
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (sample_uid, judge)
                );
                ALTER TABLE samples ADD COLUMN decided_at TEXT;
                ALTER TABLE samples ADD COLUMN reasons TEXT;   -- why it was rejected or rewritten
                """)
        }
        m.registerMigration("v5-clip-splits") { db in
            // A clip's side, fixed the first time it is exported and never moved afterwards.
            try db.execute(sql: """
                CREATE TABLE clip_splits (
                    clip_uid TEXT PRIMARY KEY REFERENCES clips(uid),
                    side TEXT NOT NULL,                  -- train | test
                    reason TEXT NOT NULL,                -- native:<split> | group:<identity>
                    decided_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v6-exports") { db in
            // One row per curation version an export wrote: its receipt, as written to
            // jsons/curation/vN/receipt.json, so the store can tell what was exported from what.
            try db.execute(sql: """
                CREATE TABLE exports (
                    out_dir TEXT NOT NULL,               -- the export folder, absolute
                    version INTEGER NOT NULL,            -- N of jsons/curation/vN
                    mix TEXT NOT NULL,
                    config_hash TEXT NOT NULL,
                    tool_version TEXT NOT NULL,
                    mix_lines INTEGER NOT NULL,
                    source_sha256 TEXT NOT NULL,         -- SHA-256 of its source.txt
                    receipt TEXT NOT NULL,               -- JSON: shards, store state, every file written
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (out_dir, version)
                );
                """)
        }
        m.registerMigration("v7-pipeline-runs") { db in
            // `emocfg run`: where the last run of the whole pipeline got to, so the next call resumes there.
            try db.execute(sql: """
                CREATE TABLE pipeline_runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    config_hash TEXT NOT NULL,           -- sources file, pipeline file and export folder
                    status TEXT NOT NULL,                -- running | failed | done
                    stage TEXT NOT NULL,                 -- the stage running, or the one that failed
                    error TEXT,
                    summary TEXT NOT NULL DEFAULT '[]',  -- JSON: the stage counters so far
                    started_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v8-clip-media") { db in
            // A frame folder clip that is one part of a longer recording (CAS(ME)^2 expressions);
            // the export's folder name per source; clips rendered to video files for the export,
            // by content key (source file identity, range, encoder settings).
            try db.execute(sql: """
                ALTER TABLE clips ADD COLUMN frame_first INTEGER;
                ALTER TABLE clips ADD COLUMN frame_last INTEGER;
                ALTER TABLE sources ADD COLUMN export_name TEXT;
                CREATE TABLE rendered_media (
                    key TEXT PRIMARY KEY,                -- SHA-256 of source identity, range and encoder settings
                    clip_uid TEXT NOT NULL,
                    status TEXT NOT NULL,                -- ok | failed
                    file TEXT,                           -- relative to the media cache folder
                    encoder TEXT,                        -- libx264 | mpeg4
                    settings TEXT NOT NULL,              -- JSON: what the key covers
                    frames INTEGER,
                    duration REAL,
                    width INTEGER,
                    height INTEGER,
                    has_audio INTEGER,
                    bytes INTEGER,
                    error TEXT,                          -- libav's reason when failed
                    created_at TEXT NOT NULL
                );
                CREATE INDEX rendered_media_by_clip ON rendered_media(clip_uid);
                """)
        }
        m.registerMigration("v9-claims-abstentions") { db in
            // Work claimed by a process (a lease with an owner and an expiry), so processes sharing a
            // store split the work; and judges that abstained on a sample, with the reason.
            try db.execute(sql: """
                CREATE TABLE work_claims (
                    stage TEXT NOT NULL,                 -- caption | qa | rationale | verify
                    item TEXT NOT NULL,                  -- the stage's work item (clip uid or sample uid)
                    owner TEXT NOT NULL,                 -- host/pid/run id of the claiming process
                    expires_at REAL NOT NULL,            -- seconds since 1970; a lease past it may be taken over
                    done_at REAL,                        -- set when the owner finished the item (done or failed)
                    PRIMARY KEY (stage, item)
                );
                CREATE TABLE judge_abstentions (
                    sample_uid TEXT NOT NULL,
                    judge TEXT NOT NULL,                 -- model alias
                    round INTEGER NOT NULL,
                    reason TEXT NOT NULL,                -- the call's error, redacted
                    llm_call TEXT,                       -- llm_calls.key of the failed call
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (sample_uid, judge)
                );
                """)
        }
        m.registerMigration("v10-served-model") { db in
            // The model the server says answered a call, beside the configured name; content the
            // gates kept out of the samples, with the reason.
            try db.execute(sql: """
                ALTER TABLE llm_calls ADD COLUMN served_model TEXT;
                CREATE TABLE gated_content (
                    stage TEXT NOT NULL,                 -- caption | qa | rationale | rewrite
                    uid TEXT NOT NULL,                   -- the sample it would have been
                    clip_uid TEXT,
                    reason TEXT NOT NULL,                -- the gate that stopped it
                    content TEXT NOT NULL,               -- what the model wrote (canonical JSON)
                    llm_call TEXT,
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (stage, uid)
                );
                """)
        }
        m.registerMigration("v11-face-searches") { db in
            // What the face detector found per piece of media (a file, a window of one, a frame
            // folder or a range of one), with the size and mtime it had and the detector and
            // settings used: a rerun searches only what changed. On clips, which detector searched
            // them (also when it found nothing) and how many faces it saw.
            try db.execute(sql: """
                CREATE TABLE face_searches (
                    source TEXT NOT NULL,
                    media TEXT NOT NULL,                 -- path, + #t=<start>-<end> or #frames=<first>-<last>
                    file_size INTEGER,
                    file_mtime REAL,
                    detector TEXT NOT NULL,              -- e.g. dlib-hog-19.24
                    settings TEXT NOT NULL,              -- FaceSearchOptions.cacheKey
                    face_x REAL, face_y REAL, face_w REAL, face_h REAL,
                    faces_seen INTEGER NOT NULL,
                    frames_searched INTEGER NOT NULL,
                    frames_with_face INTEGER NOT NULL,
                    error TEXT,                          -- why the frames could not be searched
                    searched_at TEXT NOT NULL,
                    PRIMARY KEY (source, media)
                );
                ALTER TABLE clips ADD COLUMN face_searched_by TEXT;   -- detector identity, when it searched the clip
                ALTER TABLE clips ADD COLUMN faces_seen INTEGER;      -- most faces it saw in one frame
                """)
        }
        m.registerMigration("v12-batch-ledger") { db in
            // The batch lane's ledger: every job written before it is sent (intent), with the keys it
            // carries, the provider's ids as they become known, its state, counts and cost. A rerun
            // reconciles jobs whose ids were not stored, polls jobs in flight and collects ended ones.
            try db.execute(sql: """
                CREATE TABLE batch_jobs (
                    id TEXT PRIMARY KEY,                 -- the local id, also sent as the job's name/metadata
                    provider TEXT NOT NULL,              -- openai | gemini
                    model_alias TEXT NOT NULL,
                    model TEXT NOT NULL,
                    base_url TEXT NOT NULL,
                    stage TEXT NOT NULL,
                    step INTEGER,
                    schema TEXT,                         -- the JSON Schema its answers must satisfy (canonical)
                    checks TEXT,                         -- further answer checks, comma-separated
                    state TEXT NOT NULL,                 -- prepared, uploaded, submitting, then the provider's, then collected
                    provider_state TEXT,                 -- as the provider said it (validating, BATCH_STATE_RUNNING, ...)
                    provider_job_id TEXT,                -- batch_... / batches/...
                    input_file TEXT,                     -- the local JSONL file (kept until the job is submitted)
                    input_file_id TEXT,                  -- file-... / files/... (null for Gemini inline requests)
                    output_file_id TEXT,
                    error_file_id TEXT,
                    requests INTEGER NOT NULL,
                    bytes INTEGER NOT NULL,
                    answered INTEGER NOT NULL DEFAULT 0,
                    failed INTEGER NOT NULL DEFAULT 0,
                    not_run INTEGER NOT NULL DEFAULT 0,  -- expired or cancelled before they ran
                    reserved_cost REAL NOT NULL DEFAULT 0,
                    cost REAL NOT NULL DEFAULT 0,
                    tokens_in INTEGER NOT NULL DEFAULT 0,
                    tokens_out INTEGER NOT NULL DEFAULT 0,
                    error TEXT,
                    polls INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL,
                    submitted_at TEXT,
                    updated_at TEXT NOT NULL,
                    ended_at TEXT,
                    collected_at TEXT
                );
                CREATE TABLE batch_job_keys (
                    job_id TEXT NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,                   -- the cache key (custom_id / Gemini key)
                    outcome TEXT NOT NULL DEFAULT 'waiting', -- waiting, answered, failed, not_run
                    error TEXT,
                    PRIMARY KEY (job_id, key)
                );
                CREATE INDEX batch_job_keys_key ON batch_job_keys(key);
                """)
        }
        m.registerMigration("v13-human-review") { db in
            // Decisions people make on the review page (`emocfg review`): each one a verdict by
            // `human:<name>` that overrules the committee. The sample's status becomes the human's
            // decision (what the export takes); the committee's own status is kept beside it the
            // first time a human decides, for the report's agreement. An edited answer is a new
            // sample (origin `human`) linked to the one it corrects.
            try db.execute(sql: """
                CREATE TABLE human_verdicts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    sample_uid TEXT NOT NULL REFERENCES samples(uid),
                    judge TEXT NOT NULL,                 -- human:<name>
                    decision TEXT NOT NULL,              -- accept | reject | edit
                    pass INTEGER NOT NULL,               -- 1 for accept
                    reason TEXT NOT NULL DEFAULT '',
                    revision_uid TEXT REFERENCES samples(uid),   -- an edit's new sample
                    committee TEXT NOT NULL,             -- the committee's status when the human decided
                    created_at TEXT NOT NULL
                );
                CREATE INDEX human_verdicts_by_sample ON human_verdicts(sample_uid, id);
                ALTER TABLE samples ADD COLUMN origin TEXT;            -- NULL: a stage or the committee; human: a reviewer's edit
                ALTER TABLE samples ADD COLUMN committee_status TEXT;  -- the committee's status, kept once a human overrules it
                """)
        }
        return m
    }
}

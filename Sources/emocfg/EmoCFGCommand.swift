import Annotate
import ArgumentParser
import Critic
import EmoCFG
import Foundation
import Logging

@main
struct EmoCFGCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emocfg",
        abstract: "Curate an Emo-CFG-style emotion video instruction dataset from the datasets you have downloaded.",
        discussion: """
            Stages share one SQLite store (--db, default emocfg.sqlite). Each can be
            stopped and rerun; a rerun does only the work that is missing.
              ingest    read sources.yaml, probe every video, store clips, labels
              status    counts per source from the store
              annotate  samples from labels and from models (caption, qa, rationale, tree)
              verify    three judges vote on generated samples; rewrite rejected
              export    the jsons/ tree, evaluation files, curation versions
              receipt   list versions; `receipt reproduce vN` rebuilds one exactly
              stats     an HTML report with SVG charts of the store
              run       all of the above in order, resuming where it failed
              batches   the batch jobs (--batch): states, counts, cost; cancel one
              review    a local web page to check, correct and overrule verdicts
            Exit status: 0 all done; 1 some items failed (the summary says where to
            look); 2 usage or configuration error; 3 stopped by --max-cost; 4 the
            store could not be written (full disk; answers kept in <store>-spill).
            """,
        version: EmoCFGVersion.current,
        subcommands: [IngestCommand.self, StatusCommand.self, AnnotateCommand.self, VerifyCommand.self, ExportCommand.self, ReceiptCommand.self, StatsCommand.self, RunCommand.self, BatchesCommand.self, ReviewCommand.self]
    )
}

/// Options every command takes.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite store.", valueName: "file"))
    var db: String = "emocfg.sqlite"

    @Flag(name: .long, help: "Log what each stage does to standard error.")
    var verbose = false

    func openStore() throws -> Store {
        bootstrapLogging(verbose: verbose)
        return try Store(path: db)
    }
}

nonisolated(unsafe) private var loggingBootstrapped = false

func bootstrapLogging(verbose: Bool) {
    guard !loggingBootstrapped else { return }
    loggingBootstrapped = true
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = verbose ? .info : .warning
        return h
    }
}

/// What the exit status of every command means (the README lists them too).
enum ExitStatus {
    /// Everything asked for was done.
    static let ok: Int32 = 0
    /// The command ran, but some items failed (the summary says how many and where to look).
    static let someFailed: Int32 = 1
    /// Bad usage, configuration or input: nothing (more) was done.
    static let usage: Int32 = 2
    /// `--max-cost` stopped the run before everything was done; a rerun with a larger budget goes on.
    static let budget: Int32 = 3
    /// The store could not be written (a full disk): the run stopped before sending another request.
    static let store: Int32 = 4
}

/// Prints a user-facing error and exits with status 2 (bad input), or 4 when the store could not
/// be written; never a stack trace.
func fail(_ error: Error) -> ExitCode {
    let text = Store.isWriteFailure(error) ? "cannot write the store: \(Store.describe(error)); free some space and run again" : "\(error)"
    FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    return ExitCode(isStoreFailure(error) ? ExitStatus.store : ExitStatus.usage)
}

/// The errors that mean the store could not be written.
func isStoreFailure(_ error: Error) -> Bool {
    if Store.isWriteFailure(error) { return true }
    if case .storeFailed? = error as? LLMError { return true }
    if let e = error as? AnnotateRunner.StageError { return e.kind == .store }
    if let e = error as? CriticError { return e.kind == .store }
    return false
}

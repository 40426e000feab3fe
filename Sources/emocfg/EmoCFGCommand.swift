import ArgumentParser
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
              annotate  samples from labels and from models (caption, qa, rationale)
              verify    three judges vote on generated samples; rewrite rejected
              export    the jsons/ tree, evaluation files, curation versions
              receipt   list versions; `receipt reproduce vN` rebuilds one exactly
              stats     an HTML report with SVG charts of the store
              run       all of the above in order, resuming where it failed
            """,
        version: EmoCFGVersion.current,
        subcommands: [IngestCommand.self, StatusCommand.self, AnnotateCommand.self, VerifyCommand.self, ExportCommand.self, ReceiptCommand.self, StatsCommand.self, RunCommand.self]
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

/// Prints a user-facing error and exits with status 2 (bad input), never a stack trace.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(2)
}

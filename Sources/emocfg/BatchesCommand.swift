import ArgumentParser
import EmoCFG
import Foundation

struct BatchesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batches",
        abstract: "List the batch jobs of the store (state, requests, answered, failed, cost), or cancel one.",
        discussion: """
            Jobs come from `annotate --batch`, `verify --batch`, `run --batch` and models or stages in batch mode.
            States: prepared (written, not yet uploaded), uploaded, submitting (the create call was sent; a
            later run finds the job by its id if the answer was lost), in_flight (with the provider's own
            state), ended (results not yet stored), and when collected: completed, failed (the job failed, or
            every request in it did), expired and cancelled (what they finished is kept; the rest goes into a
            new job), abandoned (never reached the provider). Every annotate, verify or run collects the jobs
            that ended.
            """,
        subcommands: [List.self, Cancel.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the batch jobs (the default).")

        @Flag(name: .long, help: "Print the jobs as JSON.")
        var json = false

        @Flag(name: .long, help: "Only jobs not yet collected.")
        var open = false

        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let store: Store
            do { store = try storeOptions.openStore() } catch { throw fail(error) }
            let jobs = try store.batchJobs(open: open)
            if json {
                printJSON(BatchesReport(jobs: jobs))
                return
            }
            guard !jobs.isEmpty else {
                print(open ? "no batch job in flight" : "no batch jobs in \(store.path)")
                return
            }
            var t = TextTable(header: ["job", "model", "stage", "state", "provider state", "requests", "answered", "failed", "not run", "cost", "created"])
            for j in jobs {
                t.rows.append([j.id, j.modelAlias, j.stage + (j.step.map { "/\($0 + 1)" } ?? ""), j.state.rawValue, j.providerState ?? "-",
                               "\(j.requests)", "\(j.answered)", "\(j.failed)", "\(j.notRun)", String(format: "%.4f", j.cost), j.createdAt])
            }
            print(t.render())
            for j in jobs where j.error != nil {
                print("\(j.id): \(j.error!)")
            }
            // A job past the providers' 24-hour target (Gemini jobs have sat pending for a day).
            let parse = ISO8601DateFormatter()
            for j in jobs where !j.state.isFinal {
                if let created = parse.date(from: j.createdAt), Date().timeIntervalSince(created) > 24 * 3600 {
                    print("\(j.id): in flight for \(Int(Date().timeIntervalSince(created) / 3600)) h, past the 24-hour target; "
                          + "`emocfg batches cancel \(j.id)` keeps what it finished and its other requests go into a new job")
                }
            }
            let total = jobs.reduce(0.0) { $0 + $1.cost }
            let reserved = jobs.filter { !$0.state.isFinal }.reduce(0.0) { $0 + $1.reservedCost }
            print(String(format: "%d jobs, $%.4f spent at batch prices", jobs.count, total)
                  + (reserved > 0 ? String(format: ", at most $%.4f more for the jobs in flight", reserved) : ""))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel", abstract: "Cancel a batch job; what it finished is collected by the next run.")

        @Argument(help: ArgumentHelp("The job's id (first column of `emocfg batches`).", valueName: "id"))
        var id: String

        @Option(name: .long, help: ArgumentHelp("The pipeline file (the job's model and key).", valueName: "file"))
        var pipeline: String = "pipeline.yaml"

        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let store: Store
            let config: PipelineConfig
            do {
                store = try storeOptions.openStore()
                config = try PipelineConfig.load(URL(fileURLWithPath: pipeline))
            } catch {
                throw fail(error)
            }
            let client = LLMClient(store: store, models: Array(config.models.values), environment: ProcessInfo.processInfo.environment)
            do {
                let job = try await client.batch.cancel(jobID: id)
                print(job.state == .abandoned
                      ? "\(job.id): cancelled before it was submitted; its requests are asked again by the next run"
                      : "\(job.id): cancel requested; the next annotate, verify or run collects what it finished")
            } catch {
                throw fail(error)
            }
        }
    }
}

struct BatchesReport: Encodable {
    var jobs: [BatchJob]
}

import Foundation

/// Why a model call produced no answer. Messages say what to check and never contain the key.
public enum LLMError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The run's `--max-cost` would be exceeded by this call; it was not sent.
    case budgetExceeded(spent: Double, limit: Double)
    /// `--dry-run`: the call was counted, not sent.
    case dryRun
    /// The batch lane has it: written into a job to submit, or carried by a job in flight. The item
    /// waits for the job's answer (a later run, or `run --batch` waiting, takes it from the store).
    case deferred(String)
    /// The call failed for good: a 4xx that retrying cannot fix, or every attempt used up.
    case failed(model: String, status: Int?, attempts: Int, message: String)
    /// The key's environment variable is not set.
    case missingKey(model: String, variable: String)
    /// The store could not be written (a full disk): the run stops before sending another request;
    /// answers received but not stored are in the spill file next to the store.
    case storeFailed(String)

    public var description: String {
        switch self {
        case .budgetExceeded(let spent, let limit):
            return String(format: "stopped before exceeding the budget: $%.4f spent of $%.4f (--max-cost)", spent, limit)
        case .dryRun:
            return "dry run: not sent"
        case .deferred(let why):
            return why
        case .failed(let model, let status, let attempts, let message):
            return "model '\(model)'\(status.map { " answered HTTP \($0)" } ?? "") after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(message)"
        case .missingKey(let model, let variable):
            return "model '\(model)' needs its key in the environment variable \(variable), which is not set"
        case .storeFailed(let message):
            return message
        }
    }
}

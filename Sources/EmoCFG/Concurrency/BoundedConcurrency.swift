import Foundation

/// Runs `work` on `items` with at most `width` running at once, handing each output to `receive`
/// as it finishes (in completion order, on the calling task). Once `receive` returns false no
/// further item is started; those already running finish and are received. Returns how many items
/// were started.
///
/// Probing, the annotate stages and the critic all schedule this way: a fixed window of work, the
/// next item started as soon as one ends, and a way to stop early (a budget, a fatal error).
@discardableResult
public func forEachBounded<Item: Sendable, Output: Sendable>(
    _ items: [Item], width: Int, _ work: @escaping @Sendable (Item) async -> Output,
    receive: (Output) async -> Bool
) async -> Int {
    guard !items.isEmpty else { return 0 }
    return await withTaskGroup(of: Output.self) { group in
        var next = 0
        var going = true
        func submit() {
            let item = items[next]
            next += 1
            group.addTask { await work(item) }
        }
        while next < min(items.count, max(1, width)) { submit() }
        while let output = await group.next() {
            if going { going = await receive(output) } else { _ = await receive(output) }
            if going && next < items.count { submit() }
        }
        return next
    }
}

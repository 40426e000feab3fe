// emocfg-standin: a local stand-in for the provider APIs (OpenAI chat completions and Gemini
// generateContent) for the tests and the demo, since real providers cannot be reached from here.
// It prints one line, `listening on http://HOST:PORT`, and runs until SIGTERM or SIGINT.

import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(StandinOptions.usage)
    exit(0)
}
do {
    let options = try StandinOptions(arguments: arguments, environment: ProcessInfo.processInfo.environment)
    exit(StandinServer.run(options))
} catch let e as StandinOptions.Invalid {
    StandinServer.complain("\(e.message)\n\n\(StandinOptions.usage)")
    exit(2)
}

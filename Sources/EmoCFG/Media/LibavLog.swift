import CFFmpeg
import Foundation

/// Keeps libav's last error line per thread instead of printing it.
///
/// libav reports why a file failed (`moov atom not found`) only through `av_log`; the return code
/// alone says just "Invalid data found when processing input". Probes run on many threads at once,
/// so the line is kept per thread and attached to that thread's error. Nothing reaches the
/// terminal: emocfg's modules never print.
enum LibavLog {
    private static let key = "emocfg.libav.last"

    static func install() {
        av_log_set_level(AV_LOG_ERROR)
        av_log_set_callback { avcl, level, fmt, args in
            guard level <= AV_LOG_ERROR, let fmt, let args else { return }
            var line = [CChar](repeating: 0, count: 512)
            var prefix: Int32 = 0
            av_log_format_line2(avcl, level, fmt, args, &line, Int32(line.count), &prefix)
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { Thread.current.threadDictionary[LibavLog.key] = text }
        }
    }

    static func clear() { Thread.current.threadDictionary.removeObject(forKey: key) }

    static func last() -> String { Thread.current.threadDictionary[key] as? String ?? "" }
}

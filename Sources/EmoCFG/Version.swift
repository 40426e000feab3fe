/// The tool's version, written into every curation receipt and shown by `emocfg --version`.
public enum EmoCFGVersion {
    public static let current = "0.6.0"
}

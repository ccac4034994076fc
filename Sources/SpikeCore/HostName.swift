#if canImport(Glibc)
import Glibc
#endif

/// This machine's host name (`gethostname`), as cluster tools show it; "?" if it cannot be read.
public func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "?" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

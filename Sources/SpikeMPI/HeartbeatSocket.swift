import Foundation
import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a rank listens for heartbeats: its host name, UDP port and the IPv4 addresses of its host.
struct PeerAddress: Equatable {
    var host: String
    var port: UInt16
    var addresses: [UInt32]   // IPv4, network byte order

    /// `host|port|a.b.c.d,...`: the form ranks exchange at start-up.
    var encoded: String {
        "\(host)|\(port)|" + addresses.map(ipv4String).joined(separator: ",")
    }

    init(host: String, port: UInt16, addresses: [UInt32]) {
        self.host = host; self.port = port; self.addresses = addresses
    }

    /// Parses `encoded`; nil for anything else.
    init?(encoded: String) {
        let parts = encoded.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3, let port = UInt16(parts[1]) else { return nil }
        var addrs = [UInt32]()
        for a in parts[2].split(separator: ",") {
            var v = in_addr()
            guard inet_pton(AF_INET, String(a), &v) == 1 else { return nil }
            addrs.append(v.s_addr)
        }
        self.init(host: String(parts[0]), port: port, addresses: addrs)
    }
}

/// The dotted form of a network-order IPv4 address.
func ipv4String(_ addr: UInt32) -> String {
    var v = in_addr(s_addr: addr)
    var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
    guard inet_ntop(AF_INET, &v, &buf, socklen_t(buf.count)) != nil else { return "?" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The IPv4 addresses of this host's interfaces that are up, loopback last (so it is used only when
/// nothing else exists, e.g. a laptop without network).
func hostIPv4Addresses() -> [UInt32] {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { return [inet_addr("127.0.0.1")] }
    defer { freeifaddrs(list) }
    var outside = [UInt32](), loopback = [UInt32]()
    var p = list
    while let ifa = p {
        defer { p = ifa.pointee.ifa_next }
        guard let sa = ifa.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET),
              ifa.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
        let addr = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
        if ifa.pointee.ifa_flags & UInt32(IFF_LOOPBACK) != 0 { loopback.append(addr) } else { outside.append(addr) }
    }
    let all = outside + loopback
    return all.isEmpty ? [inet_addr("127.0.0.1")] : all
}

/// A non-blocking UDP socket bound to every interface on a free port.
final class HeartbeatSocket {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw MPIError(call: "socket", code: nil, message: "peer watchdog: no UDP socket (errno \(errno))") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = INADDR_ANY
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw MPIError(call: "bind", code: nil, message: "peer watchdog: cannot bind a UDP port (errno \(errno))")
        }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    /// Sends `bytes` to `addr:port` (network-order address, host-order port); errors are ignored:
    /// an unreachable peer is what the watchdog detects by silence.
    func send(_ bytes: [UInt8], to addr: UInt32, port: UInt16) {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = addr
        sa.sin_port = port.bigEndian
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// Waits up to `milliseconds` for a datagram, then returns every datagram queued (at most 64 bytes each).
    func receive(waiting milliseconds: Int32) -> [[UInt8]] {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, milliseconds) > 0 else { return [] }
        var out = [[UInt8]]()
        var buf = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
            out.append(Array(buf[0..<n]))
        }
        return out
    }
}

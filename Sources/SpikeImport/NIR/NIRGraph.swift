import SpikeCore

/// A NIR graph (neuromorphs/NIR, file layout of `nir` 1.0): nodes by name, edges source → target,
/// optional metadata. Nested graphs are nodes of type `NIRGraph` holding their own graph.
public struct NIRGraph: Sendable, Equatable {
    public var nodes: [String: NIRNode]
    public var edges: [NIREdge]
    public var metadata: [String: H5Node]
    public init(nodes: [String: NIRNode] = [:], edges: [NIREdge] = [], metadata: [String: H5Node] = [:]) {
        self.nodes = nodes; self.edges = edges; self.metadata = metadata
    }
}

public struct NIREdge: Sendable, Equatable {
    public var source: String, target: String
    public init(_ source: String, _ target: String) { self.source = source; self.target = target }
}

/// One node: its type string and its parameters (datasets, and groups such as `input_type`), or a
/// nested graph.
public struct NIRNode: Sendable, Equatable {
    public var type: String
    public var params: [String: H5Node]
    public var graph: NIRGraph?
    public init(type: String, params: [String: H5Node] = [:], graph: NIRGraph? = nil) {
        self.type = type; self.params = params; self.graph = graph
    }

    /// A numeric parameter: its shape and values; `node` names the node in the error.
    public func numbers(_ field: String, node: String) throws -> (shape: [Int], values: [Double]) {
        guard let p = params[field] else { throw SpikeError("NIR node '\(node)' (\(type)): missing field '\(field)'") }
        switch p {
        case .numbers(let s, let v):
            guard v.allSatisfy(\.isFinite) else { throw SpikeError("NIR node '\(node)' (\(type)): field '\(field)' holds a non-finite number") }
            return (s, v)
        case .group(let c):
            // `input_type` / `output_type` dictionaries: {"input": shape}
            if c.count == 1, case .numbers(let s, let v) = c.values.first! { return (s, v) }
            throw SpikeError("NIR node '\(node)' (\(type)): field '\(field)' is a group, expected numbers")
        case .strings:
            throw SpikeError("NIR node '\(node)' (\(type)): field '\(field)' holds strings, expected numbers")
        }
    }
    public func numbersIfPresent(_ field: String, node: String) throws -> (shape: [Int], values: [Double])? {
        params[field] == nil ? nil : try numbers(field, node: node)
    }
    /// Integer values of a parameter (stride, padding, shapes, ...).
    public func integers(_ field: String, node: String) throws -> [Int] {
        let (_, v) = try numbers(field, node: node)
        return try v.map { x in
            guard x == x.rounded(), abs(x) < 1e9 else { throw SpikeError("NIR node '\(node)' (\(type)): field '\(field)' must hold integers, got \(x)") }
            return Int(x)
        }
    }
}

/// Reads and writes NIR graphs from and to HDF5 trees.
public enum NIRFile {
    /// NIR's version string this writer puts in its files.
    public static let version = "1.0.8"

    public static func read(path: String) throws -> NIRGraph {
        try parse(HDF5Tree.read(path: path), file: path)
    }
    public static func read(bytes: [UInt8], label: String = "NIR bytes") throws -> NIRGraph {
        try parse(HDF5Tree.read(bytes: bytes, label: label), file: label)
    }

    public static func parse(_ root: H5Node, file: String) throws -> NIRGraph {
        guard let top = root.children, case .group(let node)? = top["node"] else {
            throw SpikeError("\(file): missing the group 'node' (a NIR file holds the graph in /node)")
        }
        let type = try string(node["type"], field: "type", node: "node", file: file)
        guard type == "NIRGraph" else { throw SpikeError("\(file): node 'node' has type '\(type)', expected 'NIRGraph' at the root") }
        return try parseGraph(node, path: "", file: file, depth: 0)
    }

    static func string(_ n: H5Node?, field: String, node: String, file: String) throws -> String {
        guard let n else { throw SpikeError("\(file): NIR node '\(node)': missing field '\(field)'") }
        guard case .strings(_, let v) = n, v.count == 1 else { throw SpikeError("\(file): NIR node '\(node)': field '\(field)' must be one string") }
        return v[0]
    }

    static func parseGraph(_ g: [String: H5Node], path: String, file: String, depth: Int) throws -> NIRGraph {
        let label = path.isEmpty ? "(root graph)" : path
        guard depth < 16 else { throw SpikeError("\(file): NIR graph '\(label)': graphs nested deeper than 16") }
        guard case .group(let nodeGroups)? = g["nodes"] else { throw SpikeError("\(file): NIR graph '\(label)': missing field 'nodes'") }
        var graph = NIRGraph()
        for (name, n) in nodeGroups {
            let full = path.isEmpty ? name : path + "." + name
            guard case .group(var fields) = n else { throw SpikeError("\(file): NIR node '\(full)': not a group") }
            let type = try string(fields["type"], field: "type", node: full, file: file)
            fields["type"] = nil
            if type == "NIRGraph" {
                graph.nodes[name] = NIRNode(type: type, graph: try parseGraph(fields, path: full, file: file, depth: depth + 1))
            } else {
                graph.nodes[name] = NIRNode(type: type, params: fields)
            }
        }
        switch g["edges"] {
        case nil:
            throw SpikeError("\(file): NIR graph '\(label)': missing field 'edges'")
        case .strings(let shape, let v)?:
            if v.isEmpty { break }
            guard shape.count == 2, shape[1] == 2, v.count == shape[0] * 2 else {
                throw SpikeError("\(file): NIR graph '\(label)': field 'edges' has shape \(shape), expected (E, 2)")
            }
            for e in 0..<shape[0] { graph.edges.append(NIREdge(v[2 * e], v[2 * e + 1])) }
        case .numbers(let shape, let v)? where v.isEmpty:
            _ = shape   // an empty edge list written as an empty numeric array
        default:
            throw SpikeError("\(file): NIR graph '\(label)': field 'edges' must be an (E, 2) array of node names")
        }
        for e in graph.edges {
            for end in [e.source, e.target] where graph.nodes[end] == nil && graph.nodes[String(end.split(separator: ".").first ?? "")]?.graph == nil {
                throw SpikeError("\(file): NIR graph '\(label)': edge \(e.source) -> \(e.target) names the unknown node '\(end)'")
            }
        }
        if case .group(let m)? = g["metadata"] { graph.metadata = m }
        return graph
    }

    // MARK: writing

    public static func tree(_ graph: NIRGraph) -> H5Node {
        .group(["version": .strings(shape: [], values: [version]), "node": graphNode(graph)])
    }

    static func graphNode(_ g: NIRGraph) -> H5Node {
        var nodes = [String: H5Node]()
        for (name, n) in g.nodes {
            if let sub = n.graph { nodes[name] = graphNode(sub); continue }
            var f = n.params
            f["type"] = .strings(shape: [], values: [n.type])
            nodes[name] = .group(f)
        }
        var out: [String: H5Node] = [
            "type": .strings(shape: [], values: ["NIRGraph"]),
            "nodes": .group(nodes),
            "edges": .strings(shape: [g.edges.count, 2], values: g.edges.flatMap { [$0.source, $0.target] }),
        ]
        if !g.metadata.isEmpty { out["metadata"] = .group(g.metadata) }
        return .group(out)
    }

    public static func write(_ graph: NIRGraph, to path: String) throws {
        try HDF5Tree.write(tree(graph), to: path)
    }
}

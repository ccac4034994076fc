import SpikeCore

/// One layer's work in one timestep: its op's dispatch (`step`) and the synaptic kernels that add its inputs'
/// events to its current (`scatter`).
extension RankSimulator {
    /// Runs layer `s` for timestep `t`; returns the number of spikes its owned neurons emitted.
    func step(_ s: LayerState, sample: Int, t: Int, input: [Float]) -> Int {
        if s.onlyOnce && t > 1 { return 0 }
        switch s.layer.op {
        case .input:
            return encodeInput(s, sample: sample, t: t, input: input)
        case .maxPool(let w):
            let src = states[s.layer.inputs[0]]
            let ev = inputEvents(s, 0)
            // Overlapping windows borrow the rank's scratch of this step's input events (tiling ones need none).
            let borrow = !w.tilesInput
            if borrow {
                swap(&s.gate!.now, &s.scratch.gateNow)
                let need = s.gate!.viewCount - s.gate!.now.count
                if need > 0 { s.gate!.now.append(contentsOf: repeatElement(0, count: need)) }
            }
            s.gate!.step(input: ev, span: ev.span(s.inputRanges[0]), inShape: src.layer.shape, outShape: s.layer.shape,
                         window: w, block: s.block, into: &s.own)
            if borrow { swap(&s.gate!.now, &s.scratch.gateNow) }
        case .concat:
            Routing.concat(inputs: s.layer.inputs.indices.map { inputEvents(s, $0) }, shapes: s.layer.inputs.map { states[$0].layer.shape },
                           output: s.layer.shape, block: s.block, into: &s.own)
        case .channelSlice(let start, let count):
            Routing.slice(input: inputEvents(s, 0), shape: states[s.layer.inputs[0]].layer.shape, start: start,
                          count: count, block: s.block, into: &s.own)
        case .upsample(let f):
            Routing.upsample(input: inputEvents(s, 0), shape: states[s.layer.inputs[0]].layer.shape, factor: f,
                             output: s.layer.shape, block: s.block, into: &s.own)
        case .activation:
            return 0   // rejected in init
        case .flatten:
            Routing.flatten(input: inputEvents(s, 0), block: s.block, into: &s.own)
        case .conv, .dense, .avgPool, .globalAvgPool, .add:
            if s.block.own.isEmpty { return 0 }
            // Overlap: the interior rows were computed while the input's exchange was in flight (`computeInterior`,
            // which lent the current); the rows next to the halo are added now.
            let early = s.interiorReady
            s.interiorReady = false
            if early {
                // (the current was lent by computeInterior)
            } else if s.sharesCurrent {
                // Borrow the rank's scratch current; it only grows (to the largest layer's size), and this layer uses
                // its first `ownedCount` entries (fillBias below sets each of them), so no entry is written twice.
                swap(&s.current, &s.scratch.current)
                let n = s.ownedCount
                if s.current.count < n { s.current.append(contentsOf: repeatElement(0, count: n - s.current.count)) }
            }
            defer { if early { lendOverlapCurrent(s) } else if s.sharesCurrent { swap(&s.current, &s.scratch.current) } }
            if s.constantInput && t > 1 {
                // The current is the one computed at t = 1 (still in `current`; fire() does not modify it).
                s.counters.macs += Int64(s.constOps)
            } else {
                if !early { s.fillBias(&s.current, count: s.ownedCount) }
                let rest = early ? (s.block.rowLower ..< s.interiorRows.lowerBound, s.interiorRows.upperBound ..< s.block.rowUpper) : nil
                var ops = 0
                for (k, i) in s.layer.inputs.enumerated() {
                    let n = scatter(s, input: k, from: states[i], rows: rest)
                    if states[i].analog { s.counters.macs += Int64(n) } else { s.counters.synapticOps += Int64(n) }
                    ops += n
                }
                // A constant input's current is computed once per sample: its gather index is not needed until the next.
                if s.constantInput { s.constOps = ops; s.positionIndex = [] }
            }
            return s.fire()
        }
        let n = s.own.count
        if !s.analog {
            for k in s.lowerRoom..<n { if s.own.value[k] > 0 { s.counters.positiveSpikes += 1 } else { s.counters.negativeSpikes += 1 } }
        }
        return 0   // relayed events are not new spikes
    }

    /// The interior pass of an overlapped layer `s` (rule 5 of `run(batch:)`): sets its current to the bias and adds
    /// the events of its input that this rank owns to its interior rows, whose windows read no others. The rest of
    /// its update (`step`) adds the assembled view's events to the other rows.
    func computeInterior(_ s: LayerState) {
        let t0 = monotonicSeconds()
        lendOverlapCurrent(s)
        let n = s.ownedCount
        if s.current.count < n { s.current.append(contentsOf: repeatElement(0, count: n - s.current.count)) }
        s.fillBias(&s.current, count: n)
        let src = states[s.layer.inputs[0]]
        let ops = scatter(s, input: 0, from: src, rows: (s.interiorRows, s.interiorRows.upperBound ..< s.interiorRows.upperBound), events: src.own)
        if src.analog { s.counters.macs += Int64(ops) } else { s.counters.synapticOps += Int64(ops) }
        s.interiorReady = true
        let dt = monotonicSeconds() - t0
        timing.update += dt
        layerSeconds[s.index] += dt
    }

    /// Swaps the current of overlapped layer `s` with where it is kept between its interior pass and the rest of its
    /// update: the shared scratch current on the first lane of a batch, the lane's own buffer on the others.
    func lendOverlapCurrent(_ s: LayerState) {
        if ownsScratch { swap(&s.current, &s.scratch.current) } else { swap(&s.current, &overlapCurrent) }
    }

    /// The convolution kernel of `s` (gather, table or reference scatter) over events `span` of `ev` (its input `k`,
    /// layer `src`), into all owned rows or only `band` (gather and table kernels).
    private func conv(_ s: LayerState, _ k: Int, _ src: LayerState, _ w: Window, _ groups: Int, _ ev: EventList, _ span: (Int, Int),
                      _ band: Range<Int>?, _ c: UnsafeMutablePointer<Float>) -> Int {
        if s.usesGather {
            if s.positionIndex.count != s.layer.inputs.count { s.positionIndex = .init(repeating: .init(), count: s.layer.inputs.count) }
            return s.packedWeights.withUnsafeBufferPointer { pp in
                guard let packed = pp.baseAddress else { return 0 }
                return ConvGather.run(events: ev, span: span, index: &s.positionIndex[k], view: src.block.view, input: src.layer.shape,
                                      output: s.layer.shape, window: w, groups: groups, packed: packed, chunks: s.packedChunks,
                                      block: s.block, rows: band, current: c)
            }
        }
        return s.layer.weights.withUnsafeBufferPointer { wp in
            if let tables = s.scatterTables {
                if tables.prefersDense(events: ev, range: span, above: config.denseAbove) {
                    return tables.runDense(events: ev, range: span, weights: wp.baseAddress!, current: c, rows: band, map: &s.scratch.denseMap)
                }
                return tables.run(events: ev, range: span, input: src.layer.shape, weights: wp.baseAddress!, current: c, rows: band)
            }
            precondition(band == nil, "layer '\(s.layer.name)': a row band needs the gather or table kernel")
            return Kernels.conv(events: ev, range: span, input: src.layer.shape, output: s.layer.shape, window: w, groups: groups,
                                weights: wp.baseAddress!, block: s.block, current: c)
        }
    }

    /// Adds the events of input `k` (layer `src`) to the current of `s`; returns the operation count. `rows`: on the
    /// gather or table kernel, only these output rows (an overlapped layer's two passes); `events`: instead of the input's view.
    func scatter(_ s: LayerState, input k: Int, from src: LayerState, rows: (Range<Int>, Range<Int>)? = nil,
                 events: EventList? = nil) -> Int {
        let ev = events ?? inputEvents(s, k)
        let span = ev.span(s.inputRanges[k])
        if span.0 == span.1 { return 0 }
        return s.current.withUnsafeMutableBufferPointer { cur -> Int in
            let c = cur.baseAddress!
            switch s.layer.op {
            case .conv(let w, _, let groups):
                if let rows {
                    // Row bands (an overlapped layer's passes): each band reads only the events of its window's input rows.
                    let inS = src.layer.shape
                    var ops = 0
                    for band in [rows.0, rows.1] where !band.isEmpty {
                        let (lo, hi) = w.inputRows(outputRows: band.lowerBound, band.upperBound, inputHeight: inS.height)
                        let need = FlatRange(lo * inS.rowStride, hi * inS.rowStride).intersection(s.inputRanges[k])
                        let part = ev.span(need)
                        if part.0 < part.1 { ops += conv(s, k, src, w, groups, ev, part, band, c) }
                    }
                    return ops
                }
                return conv(s, k, src, w, groups, ev, span, nil, c)
            case .dense(let out):
                return s.layer.weights.withUnsafeBufferPointer { wp in
                    Kernels.dense(events: ev, range: span, outFeatures: out, weights: wp.baseAddress!, block: s.block, current: c)
                }
            case .avgPool(let w, _):
                return Kernels.avgPool(events: ev, range: span, input: src.layer.shape, output: s.layer.shape, window: w,
                                       inverse: s.avgInverse, block: s.block, current: c)
            case .globalAvgPool:
                return Kernels.globalAvgPool(events: ev, range: span, input: src.layer.shape, block: s.block, current: c)
            case .add:
                let ch = s.layer.shape.channels
                if s.layer.weights.isEmpty {
                    return Kernels.add(events: ev, range: span, channels: ch, scales: nil, block: s.block, current: c)
                }
                return s.layer.weights.withUnsafeBufferPointer { wp in
                    Kernels.add(events: ev, range: span, channels: ch, scales: wp.baseAddress! + k * ch, block: s.block, current: c)
                }
            default:
                return 0
            }
        }
    }
}

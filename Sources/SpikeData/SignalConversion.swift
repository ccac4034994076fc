import Foundation
import SpikeCore

// Signal conversion between the two data domains, after Deng et al. 2020 ("Rethinking the
// performance comparison between SNNs and ANNs"), section 3.1:
//  - spike-to-frame (event binning) feeds event-camera data to an SNN as T binary spike frames;
//  - spike-to-image (binary or intensity images) feeds event data to an ANN as one static image;
//  - image-to-spike (direct current in the engine; Bernoulli and Poisson by SpikeCore's RateEncoder,
//    which the engine and `PoissonEncoding` share) feeds static images to an SNN.
// All tensors are channels-last (HWC, flat index `(y * width + x) * channels + c`). Event tensors
// have 2 channels: channel = polarity (0 = OFF, 1 = ON).

/// Event streams to time-binned spike frames (the SNN input for event data).
public enum EventBinning {
    /// Channels of an event tensor: one per polarity.
    public static let channels = 2

    /// Bins `events` into `timesteps` frames of `binMicroseconds` each: frame `t` holds the events
    /// with timestamp in `[t * bin, (t + 1) * bin)`, as an HWC `height x width x 2` tensor that is 1
    /// where at least one event of that pixel and polarity fell into the bin, else 0 (binary spike
    /// frames). Events at or after `timesteps * bin`, and events outside `height x width`, are dropped.
    /// `binMicroseconds` must be positive.
    public static func frames(_ events: [Event], binMicroseconds: Int, timesteps: Int,
                              height: Int = 34, width: Int = 34) -> [[Float]] {
        precondition(binMicroseconds > 0, "EventBinning.frames: binMicroseconds must be positive, got \(binMicroseconds)")
        let steps = max(0, timesteps), size = max(0, height) * max(0, width) * channels
        var frames = [[Float]](repeating: [Float](repeating: 0, count: size), count: steps)
        for e in events {
            let t = Int(e.timestamp) / binMicroseconds
            guard t < steps, let i = index(e, height: height, width: width) else { continue }
            frames[t][i] = 1
        }
        return frames
    }

    /// Spike-to-image, binary: 1 where any event of that pixel and polarity occurred, else 0
    /// (HWC, 2 channels). Events outside `height x width` are dropped.
    public static func binaryImage(_ events: [Event], height: Int = 34, width: Int = 34) -> [Float] {
        var image = [Float](repeating: 0, count: max(0, height) * max(0, width) * channels)
        for e in events { if let i = index(e, height: height, width: width) { image[i] = 1 } }
        return image
    }

    /// Spike-to-image, unrolled binary image (Deng et al. 2020, Fig. 4c, the input of their model 4):
    /// the spike pattern unrolled along time, 1 where a time bin holds an event. The `bins` binary
    /// frames of ``frames(_:binMicroseconds:timesteps:height:width:)`` are stacked along the channel
    /// axis: an HWC tensor `height x width x (2 * bins)` whose channel `t * 2 + polarity` is 1 iff at
    /// least one event of that pixel and polarity has a timestamp in `[t * bin, (t + 1) * bin)`.
    /// Flattened per pixel it is that position's time pattern (bin after bin, OFF then ON), so for an
    /// MLP the flat vector is exactly the unrolled position x time image; a CNN sees the time bins as
    /// input channels. Events at or after `bins * binMicroseconds`, and events outside
    /// `height x width`, are dropped. `binMicroseconds` must be positive.
    public static func unrolledBinaryImage(_ events: [Event], binMicroseconds: Int, bins: Int,
                                           height: Int = 34, width: Int = 34) -> [Float] {
        precondition(binMicroseconds > 0, "EventBinning.unrolledBinaryImage: binMicroseconds must be positive, got \(binMicroseconds)")
        let steps = max(0, bins), depth = channels * steps
        var image = [Float](repeating: 0, count: max(0, height) * max(0, width) * depth)
        guard steps > 0 else { return image }
        for e in events {
            let t = Int(e.timestamp) / binMicroseconds
            guard t < steps, let i = index(e, height: height, width: width) else { continue }
            // index = pixel * 2 + polarity; the unrolled index is pixel * depth + t * 2 + polarity.
            image[(i / channels) * depth + t * channels + i % channels] = 1
        }
        return image
    }

    /// Spike-to-image, intensity: the number of events per pixel and polarity divided by the largest
    /// such count, so values lie in [0, 1] and the busiest pixel is 1 (HWC, 2 channels). All zeros
    /// when there are no events. Events outside `height x width` are dropped.
    public static func intensityImage(_ events: [Event], height: Int = 34, width: Int = 34) -> [Float] {
        var counts = [Int](repeating: 0, count: max(0, height) * max(0, width) * channels)
        for e in events { if let i = index(e, height: height, width: width) { counts[i] += 1 } }
        guard let peak = counts.max(), peak > 0 else { return counts.map { _ in 0 } }
        let scale = 1 / Float(peak)
        return counts.map { $0 == peak ? 1 : Float($0) * scale }
    }

    /// Flat HWC index of an event, or nil if it lies outside the frame. Polarity is 0 or 1
    /// (any nonzero polarity counts as ON).
    @inline(__always)
    static func index(_ e: Event, height: Int, width: Int) -> Int? {
        let x = Int(e.x), y = Int(e.y)
        guard x < width, y < height else { return nil }
        return (y * width + x) * channels + (e.polarity == 0 ? 0 : 1)
    }
}

/// Image-to-spike by a Poisson process (the rate coding of Deng et al. section 3.1), through the
/// engine's own encoder (`RateEncoder`, Poisson law).
///
/// Pixel value `x` sets a Poisson rate `λ = x * maxRate` spikes per timestep; the neuron fires in a
/// step with probability `1 - exp(-λ)`: neuron `i` spikes at timestep `t` (1...T) iff
/// `Philox(seed).uniform(sample:, layer: 0, neuron: i, timestep: t) < 1 - expf(-x * maxRate)`.
/// Values `x <= 0` never spike. With `maxRate` 1 these are exactly the input spikes of a
/// `--encoder poisson` run with the same seed.
public enum PoissonEncoding {
    /// `timesteps` spike frames (0 or 1 per element) of the same layout as `image`; frame `k` is
    /// timestep `k + 1`.
    public static func spikes(_ image: [Float], timesteps: Int, seed: UInt64, sample: Int,
                              maxRate: Float = 1) -> [[Float]] {
        RateEncoder(.poisson, seed: seed).frames(image.map { $0 * maxRate }, sample: sample, timesteps: timesteps)
    }
}
